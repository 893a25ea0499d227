import { writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { startTestServer, type TestServer } from "@hranad/server/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { STACK, removeTempDirs, shell, tempDir } from "./support.js";

let server: TestServer;
const DATABASES = ["default", "tx", "notx", "stdin", "own", "ok", "codes", "auth"];

beforeAll(async () => {
  server = await startTestServer({ databases: DATABASES.map((name) => ({ name })) });
});
afterAll(async () => {
  await server.close();
});
afterEach(removeTempDirs);

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const url = (db: string, ws = false): string => `${ws ? server.wsUrl : server.url}/${db}/`;

async function tableNames(db: string): Promise<string[]> {
  const client = createClient({ url: url(db) });
  try {
    const rs = await client.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    return rs.rows.map((r) => String(r.name));
  } finally {
    client.close();
  }
}

async function column(db: string, sql: string): Promise<unknown[]> {
  const client = createClient({ url: url(db) });
  try {
    return (await client.execute(sql)).rows.map((r) => r[0]);
  } finally {
    client.close();
  }
}

const FAILING = ["CREATE TABLE t (x INTEGER);", "INSERT INTO t VALUES (1);", "", "INSERT INTO nope VALUES (2);", "INSERT INTO t VALUES (3);", ""].join("\n");

describe("hranad shell with a script", () => {
  it("-f runs a file in one transaction: it stops at the first error, names its line, and applies nothing", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad.sql"), FAILING);
    const run = await shell([url("tx"), "-f", "bad.sql"], "", {}, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Error: bad.sql:4: SQLITE_ERROR: no such table: nope\n");
    expect(run.stderr).toContain("nothing was applied");
    expect(run.stderr).not.toMatch(STACK);
    expect(await tableNames("tx")).toEqual([]);
  });

  it("reads the script from stdin the same way (< file), over WebSocket too", async () => {
    const run = await shell([url("stdin", true)], FAILING);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Error: <stdin>:4: SQLITE_ERROR: no such table: nope\n");
    expect(await tableNames("stdin")).toEqual([]);
  });

  it("--no-transaction runs statement by statement: what came before the error stays", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad.sql"), FAILING);
    const run = await shell([url("notx"), "--no-transaction", "-f", join(dir, "bad.sql")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(":4: SQLITE_ERROR: no such table: nope");
    expect(await column("notx", "SELECT x FROM t")).toEqual([1]);
  });

  it("a file that succeeds is committed, and prints its results as aligned tables", async () => {
    const script = [
      "-- a migration",
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL);",
      "INSERT INTO users (name, score) VALUES ('ada', 2.0), ('grace', NULL);",
      "CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN",
      "  UPDATE users SET score = 0.5 WHERE id = new.id AND score IS NULL;",
      "END;",
      "INSERT INTO users (name) VALUES ('linus');",
      "SELECT id, name, score FROM users ORDER BY id;",
    ].join("\n");
    const run = await shell([url("ok", true)], script);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        "+----+-------+-------+",
        "| id | name  | score |",
        "+----+-------+-------+",
        "|  1 | ada   |   2.0 |",
        "|  2 | grace | NULL  |",
        "|  3 | linus |   0.5 |",
        "+----+-------+-------+",
        "",
      ].join("\n"),
    );
    expect(await column("ok", "SELECT count(*) FROM users")).toEqual([3]);
  });

  it("a file with its own BEGIN … COMMIT runs as written", async () => {
    const script = "CREATE TABLE a (x);\nBEGIN;\nINSERT INTO a VALUES (1);\nCOMMIT;\nBEGIN;\nINSERT INTO a VALUES (2);\nROLLBACK;\n";
    const run = await shell([url("own")], script);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(await column("own", "SELECT x FROM a")).toEqual([1]);
  });

  it("-c runs one statement; exit 1 for an SQL error, 2 for a usage or connection error, never a stack trace", async () => {
    const one = await shell([url("codes"), "-c", "SELECT 9223372036854775807 AS big, 'x' AS s, NULL AS n, X'CAFE' AS b"]);
    expect(one).toMatchObject({ code: 0, stderr: "" });
    expect(one.stdout).toContain("| 9223372036854775807 | x | NULL | X'CAFE' |");

    await shell([url("codes"), "-c", "CREATE TABLE u (email TEXT UNIQUE); INSERT INTO u VALUES ('a@b')"]);
    const port = await freePort();
    // independent runs, side by side
    const [unique, syntax, usage, missing, unknownDb, downHttp, downWs] = await Promise.all([
      shell([url("codes"), "-c", "INSERT INTO u VALUES ('a@b')"]),
      shell([url("codes"), "-c", "SELEC 1"]),
      shell([url("codes"), "--bogus"]),
      shell([url("codes"), "-f", "/nonexistent/migration.sql"]),
      shell([url("nosuchdb"), "-c", "SELECT 1"]),
      shell([`http://127.0.0.1:${port}/`, "-c", "SELECT 1"]),
      shell([`ws://127.0.0.1:${port}/`, "-c", "SELECT 1"]),
    ]);
    expect(unique.code).toBe(1);
    expect(unique.stderr).toMatch(/^Error: -c:1: SQLITE_CONSTRAINT[A-Z_]*: .*UNIQUE constraint failed: u\.email/);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/^Error: -c:1: SQLITE_ERROR: .*syntax error/);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^hranad shell: unknown option --bogus\nUsage: hranad shell/);
    expect(missing).toMatchObject({ code: 2, stderr: "hranad shell: cannot read /nonexistent/migration.sql: ENOENT\n" });
    expect(unknownDb.code).toBe(2);
    expect(unknownDb.stderr).toMatch(/^hranad shell: cannot connect to .*\/nosuchdb\/: .*DATABASE_NOT_FOUND/);
    for (const [down, scheme] of [
      [downHttp, "http"],
      [downWs, "ws"],
    ] as const) {
      expect(down.code).toBe(2);
      expect(down.stderr).toMatch(new RegExp(`^hranad shell: cannot connect to ${scheme}://127\\.0\\.0\\.1:${port}/: .+\\n$`));
    }
    for (const run of [one, unique, syntax, usage, missing, unknownDb, downHttp, downWs]) expect(run.stderr).not.toMatch(STACK);
  });

  it("sends --auth-token, or HRANAD_AUTH_TOKEN, as a bearer token", async () => {
    // hranad in open mode takes any token: put a proxy in front that wants one (as Turso or sqld with auth do).
    const target = new URL(server.url);
    const proxy: Server = createServer((req, res) => {
      if (req.headers.authorization !== "Bearer s3cret") {
        res.writeHead(401, { "content-type": "application/json" }).end('{"error":"Unauthorized"}');
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxied = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/auth/`;
    try {
      const refused = await shell([proxied, "-c", "SELECT 1"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^hranad shell: cannot connect to .*: .*401/);
      const flag = await shell([proxied, "--auth-token", "s3cret", "-c", "SELECT 'in' AS x"]);
      expect(flag).toMatchObject({ code: 0, stderr: "" });
      const env = await shell([proxied, "-c", "SELECT 'in' AS x"], "", { HRANAD_AUTH_TOKEN: "s3cret" });
      expect(env).toMatchObject({ code: 0, stdout: flag.stdout });
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
