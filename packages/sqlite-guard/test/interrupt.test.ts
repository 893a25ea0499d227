import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import {
  claimGuardToken,
  extensionPath,
  interruptByKey,
  interruptConnection,
  interruptKey,
  setDeadline,
  GUARD_ERRORS,
} from "../src/index.js";
import { DRIVERS, RUNAWAY, errorOf, fixture, open, tempDir } from "./helpers.js";

const KEY = /^[0-9a-f]{32}$/;

/** A guarded connection in a worker thread that runs `sql` on "go"; its key is known once it is ready. */
async function startWorker(
  driver: string,
  path: string,
  sql: string,
  deadlineMs = 0,
): Promise<{ worker: Worker; key: string; run(): Promise<{ code: string; after: unknown }> }> {
  const worker = new Worker(fixture("interruptible-worker.mjs"), {
    workerData: { driver, path, extensionPath, deadlineMs, sql },
  });
  const [{ key }] = (await once(worker, "message")) as [{ key: string }];
  return {
    worker,
    key,
    run: async () => {
      const result = once(worker, "message") as Promise<[{ code: string; after: unknown }]>;
      worker.postMessage("go");
      return (await result)[0];
    },
  };
}

/** Calls `interrupt` every few milliseconds until `running` settles (the statement may not have started yet). */
async function interruptUntil<T>(running: Promise<T>, interrupt: () => boolean): Promise<{ result: T; hits: number }> {
  let settled = false;
  const done = running.finally(() => {
    settled = true;
  });
  let hits = 0;
  while (!settled) {
    if (interrupt()) hits += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { result: await done, hits };
}

describe.each(DRIVERS)("interrupt key through %s", (driver) => {
  it("needs the token, and is 32 hex characters, stable per connection and different between connections", () => {
    const db = open(driver, ":memory:");
    const token = claimGuardToken(db.query);
    expect(errorOf(() => db.query("SELECT hranad_guard_interrupt_key(?)", "0".repeat(32)))).toEqual({
      code: "SQLITE_AUTH",
      message: GUARD_ERRORS.wrongToken,
    });
    expect(errorOf(() => db.query("SELECT hranad_guard_interrupt_key(NULL)")).code).toBe("SQLITE_AUTH");
    const key = interruptKey(db.query, token);
    expect(key).toMatch(KEY);
    expect(key).not.toBe(token);
    expect(interruptKey(db.query, token)).toBe(key);
    const other = open(driver, ":memory:");
    expect(interruptKey(other.query, claimGuardToken(other.query))).not.toBe(key);
  });

  it("cannot be read before the driver claimed the token", () => {
    const db = open(driver, ":memory:");
    expect(errorOf(() => db.query("SELECT hranad_guard_interrupt_key(?)", "")).code).toBe("SQLITE_AUTH");
  });

  it("interrupts only with the calling connection's own token, and validates the key", () => {
    const target = open(driver, ":memory:");
    const key = interruptKey(target.query, claimGuardToken(target.query));
    const caller = open(driver, ":memory:");
    // Client SQL on a guarded connection does not know that connection's token: it cannot interrupt anything.
    expect(errorOf(() => caller.query("SELECT hranad_guard_interrupt(?, ?)", "0".repeat(32), key))).toEqual({
      code: "SQLITE_AUTH",
      message: GUARD_ERRORS.wrongToken,
    });
    const token = claimGuardToken(caller.query);
    expect(errorOf(() => caller.query("SELECT hranad_guard_interrupt(?, ?)", token.toUpperCase(), key)).code).toBe(
      "SQLITE_AUTH",
    );
    for (const bad of ["NULL", "1", "''", `'${key.slice(1)}'`, `'${key}0'`]) {
      expect(errorOf(() => caller.query(`SELECT hranad_guard_interrupt(?, ${bad})`, token)).code).toBe("SQLITE_MISUSE");
    }
    expect(interruptByKey(caller.query, token, "0".repeat(32))).toBe(false);
    expect(interruptByKey(caller.query, token, key)).toBe(true);
  });

  it("is a no-op in effect on an idle connection: its next statement runs normally", () => {
    const db = open(driver, ":memory:");
    const key = interruptKey(db.query, claimGuardToken(db.query));
    expect(interruptConnection(key)).toBe(true);
    expect(db.query("SELECT 6 * 7")).toBe(42);
    expect(db.all("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 1000) SELECT x FROM c")).toHaveLength(
      1000,
    );
  });

  it("interrupts an open cursor of the connection", () => {
    const db = open(driver, ":memory:");
    const key = interruptKey(db.query, claimGuardToken(db.query));
    const rows = db.iterate("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 100000) SELECT x FROM c");
    expect(rows.next().value).toEqual([1]);
    expect(interruptConnection(key)).toBe(true);
    expect(
      errorOf(() => {
        for (let row = rows.next(); !row.done; row = rows.next()) {
          // libsql hands out rows it fetched ahead before it reports the interrupt
        }
      }).code,
    ).toBe("SQLITE_INTERRUPT");
    expect(db.query("SELECT 1")).toBe(1);
  });

  it("is forgotten when the connection really closes", () => {
    const db = open(driver, ":memory:");
    const key = interruptKey(db.query, claimGuardToken(db.query));
    db.close();
    // libsql 0.5 calls sqlite3_close only once the connection's statements are garbage-collected: until then the
    // key still names it (harmless: nothing runs on it any more). better-sqlite3 closes at once.
    expect(interruptConnection(key)).toBe(driver === "libsql");
  });

  for (const [label, deadlineMs] of [
    ["without a deadline", 0],
    ["under a long deadline", 60_000],
  ] as const) {
    it(`stops a runaway statement running in another thread (${label}); the connection stays usable`, async () => {
      const dir = tempDir();
      const target = await startWorker(driver, `${dir}/w.db`, RUNAWAY, deadlineMs);
      try {
        const { result, hits } = await interruptUntil(target.run(), () => interruptConnection(target.key));
        expect(result).toEqual({ code: "SQLITE_INTERRUPT", after: 42 });
        expect(hits).toBeGreaterThan(0);
      } finally {
        await target.worker.terminate();
      }
    }, 30_000);
  }

  it.each(DRIVERS)("is called from a connection of another library (%s) as well", async (controlDriver) => {
    const dir = tempDir();
    const control = open(controlDriver, ":memory:");
    const token = claimGuardToken(control.query);
    const target = await startWorker(driver, `${dir}/w.db`, RUNAWAY);
    try {
      const { result } = await interruptUntil(target.run(), () => interruptByKey(control.query, token, target.key));
      expect(result.code).toBe("SQLITE_INTERRUPT");
      // Once the target closed (in its own thread), its key interrupts nothing (libsql: see above).
      target.worker.postMessage("close");
      await once(target.worker, "message");
      expect(interruptByKey(control.query, token, target.key)).toBe(driver === "libsql");
    } finally {
      await target.worker.terminate();
    }
  }, 30_000);

  it("leaves the deadline of later statements alone", () => {
    const db = open(driver, ":memory:");
    const token = claimGuardToken(db.query);
    setDeadline(db.query, token, 60_000);
    const key = interruptKey(db.query, token);
    const rows = db.iterate("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 100000) SELECT x FROM c");
    rows.next();
    interruptConnection(key);
    expect(errorOf(() => {
      for (let row = rows.next(); !row.done; row = rows.next()) {
        // drain
      }
    }).code).toBe("SQLITE_INTERRUPT");
    for (let i = 0; i < 50; i++) expect(db.query("SELECT ?", i)).toBe(i);
  });
});

describe.each(DRIVERS)("interrupts racing closes through %s", (driver) => {
  it("never touches a connection that is closing or gone", () => {
    const dir = tempDir();
    const child = spawnSync(process.execPath, [fixture("interrupt-stress.mjs"), driver, extensionPath, dir], {
      encoding: "utf8",
      timeout: 60_000,
      killSignal: "SIGKILL",
    });
    expect(child.signal).toBeNull();
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toMatch(/^ok 300 (some|none)$/);
  }, 70_000);
});
