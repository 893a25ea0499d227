import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { claimGuardToken, extensionPath, setDeadline } from "../src/index.js";
import { DRIVERS, fixture, open, tempDir } from "./helpers.js";

describe.each(DRIVERS)("connection life cycle through %s", (driver) => {
  it("survives opening and closing many connections with armed deadlines, open cursors and a firing watchdog", () => {
    const dir = tempDir();
    const child = spawnSync(process.execPath, ["--expose-gc", fixture("close-stress.mjs"), driver, extensionPath, dir], {
      encoding: "utf8",
      timeout: 60_000,
      killSignal: "SIGKILL",
    });
    expect(child.signal).toBeNull();
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe("ok 15"); // every runaway was interrupted
  }, 70_000);

  it("keeps guarding a connection while another one with a deadline closes", () => {
    const db = open(driver, ":memory:");
    const token = claimGuardToken(db.query);
    setDeadline(db.query, token, 150);
    // A second connection closes normally while this one keeps running statements under the same watchdog.
    const other = open(driver, ":memory:");
    setDeadline(other.query, claimGuardToken(other.query), 50);
    other.close();
    expect(() => db.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c")).toThrow(
      /interrupted/,
    );
  });
});
