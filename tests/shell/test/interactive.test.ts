import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "@hranad/server/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HRANAD, STACK, removeTempDirs, tempDir } from "./support.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(removeTempDirs);

/** util-linux `script` gives the shell a real pseudo-terminal (no native module needed). */
const hasScript = spawnSync("script", ["--version"]).status === 0;

/**
 * `hranad shell URL` on a pseudo-terminal: `type` sends keys once the output shows what the previous step waits
 * for (the shell is then reading), so Ctrl-C reaches readline as a key, as it does for a user.
 */
function terminal(url: string, historyFile: string) {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const child = spawn("script", ["-qec", [process.execPath, HRANAD, "shell", url].map(quote).join(" "), "/dev/null"], {
    env: { ...process.env, TERM: "dumb", HRANAD_SHELL_HISTORY: historyFile, HRANAD_AUTH_TOKEN: "" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  let notify = (): void => undefined;
  child.stdout.on("data", (chunk: Buffer) => {
    screen += chunk.toString().replaceAll("\r\n", "\n");
    notify();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  let mark = 0;
  let gone = (): void => undefined;
  child.on("close", () => gone());
  /** Waits until the output since the last step matches. */
  const waitFor = (pattern: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const seen = screen.slice(mark);
        if (pattern.test(seen)) {
          mark = screen.length;
          resolve(seen);
        }
      };
      notify = check;
      gone = () => reject(new Error(`the shell exited before ${pattern}; it showed:\n${screen}`));
      check();
    });
  const type = (keys: string, until: RegExp): Promise<string> => {
    child.stdin.write(keys);
    return waitFor(until);
  };
  const send = (keys: string): void => void child.stdin.write(keys);
  return { waitFor, type, send, exited, screen: () => screen };
}

describe("hranad shell at a terminal", () => {
  it.runIf(hasScript)(
    "multi-line statements, tables, errors with their code, Ctrl-C, a transaction, history, .quit",
    async () => {
      const dir = tempDir();
      const history = join(dir, "history");
      const t = terminal(server.wsUrl, history);
      expect(await t.waitFor(/hranad> $/)).toMatch(/^Connected to ws:\/\/127\.0\.0\.1:\d+\. Enter "\.help" for usage\.\n/);

      // a statement over two lines: the second prompt says it goes on
      await t.type("CREATE TABLE notes (id INTEGER PRIMARY KEY,\r", /\.\.\.> $/);
      await t.type("body TEXT);\r", /hranad> $/);
      await t.type("INSERT INTO notes (body) VALUES ('one'), ('two');\r", /hranad> $/);
      expect(await t.type("SELECT * FROM notes;\r", /hranad> $/)).toContain(
        "+----+------+\n| id | body |\n+----+------+\n|  1 | one  |\n|  2 | two  |\n+----+------+\n",
      );

      // an error shows its code, and the shell goes on
      expect(await t.type("INSERT INTO notes VALUES (1, 'dup');\r", /hranad> $/)).toMatch(
        /Error: SQLITE_CONSTRAINT[A-Z_]*: .*UNIQUE constraint failed: notes\.id\n/,
      );

      // Ctrl-C drops what is being typed (on one line, then over two), not the shell
      await t.type("SELECT 'dropped'", /dropped'$/);
      await t.type("\x03", /\^C\nhranad> $/);
      await t.type("DELETE FROM notes\r", /\.\.\.> $/);
      await t.type("\x03", /\^C\nhranad> $/);
      expect(await t.type("SELECT count(*) AS n FROM notes;\r", /hranad> $/)).toContain("| n |\n+---+\n| 2 |");
      expect(await t.type("\x03", /hranad> $/)).toContain("^C (enter .quit or press Ctrl-D to leave)");

      // BEGIN … ROLLBACK is one transaction, shown in the prompt
      await t.type("BEGIN;\r", /hranad\*> $/);
      await t.type("DELETE FROM notes;\r", /hranad\*> $/);
      expect(await t.type("SELECT count(*) AS n FROM notes;\r", /hranad\*> $/)).toContain("| n |\n+---+\n| 0 |");
      await t.type("ROLLBACK;\r", /hranad> $/);
      expect(await t.type("SELECT count(*) AS n FROM notes;\r", /hranad> $/)).toContain("| n |\n+---+\n| 2 |");

      t.send(".quit\r");
      expect(await t.exited).toBe(0);
      expect(t.screen()).not.toMatch(STACK);
      // history: one entry per line typed, oldest first, without the dropped input
      const lines = readFileSync(history, "utf8").split("\n");
      expect(lines).toContain("CREATE TABLE notes (id INTEGER PRIMARY KEY,");
      expect(lines).toContain("ROLLBACK;");
      expect(lines.at(-2)).toBe(".quit");
      expect(lines.some((l) => l.includes("dropped"))).toBe(false);
    },
  );
});
