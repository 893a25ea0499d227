import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { startTestServer, type TestServer } from "@hranad/server/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { STACK, removeTempDirs, shell, tempDir } from "./support.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ databases: ["default", "dots", "source", "copy"].map((name) => ({ name })) });
});
afterAll(async () => {
  await server.close();
});
afterEach(removeTempDirs);

const url = (db: string, ws = false): string => `${ws ? server.wsUrl : server.url}/${db}/`;

describe("hranad shell's dot-commands", () => {
  it("each one, typed on stdin with -i (prompts as at a terminal, errors do not stop it)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "extra.sql"), "INSERT INTO users VALUES (3, 'cy');\nSELECT count(*) AS total FROM users;\n");
    const input = [
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
      "CREATE INDEX users_name ON users(name);",
      "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);",
      "CREATE VIEW names AS SELECT name FROM users;",
      "INSERT INTO users VALUES (1, 'ada'), (2, 'bob');",
      ".tables",
      ".schema users",
      ".indexes",
      ".indexes posts",
      ".mode json",
      "SELECT id, name FROM users ORDER BY id;",
      ".mode csv",
      "SELECT id, name FROM users ORDER BY id;",
      ".mode table",
      ".timer on",
      "SELECT 1 AS one;",
      ".timer off",
      "SELECT * FROM missing;",
      ".read extra.sql",
      ".nonsense",
      ".help",
      ".quit",
      "SELECT 'not reached';",
    ].join("\n");
    const run = await shell([url("dots"), "-i"], input, {}, dir);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain("not reached");
    const out = run.stdout;
    expect(out).toMatch(/^Connected to http:\/\/127\.0\.0\.1:\d+\/dots\/\. Enter "\.help" for usage\.\nhranad> /);
    expect(out).toContain("hranad> names  posts  users\nhranad> ");
    expect(out).toContain(
      "hranad> CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX users_name ON users(name);\nhranad> ",
    );
    expect(out).toContain("hranad> users_name\nhranad> hranad> "); // posts has no index
    expect(out).toContain('[{"id":1,"name":"ada"},\n{"id":2,"name":"bob"}]\n');
    expect(out).toContain("id,name\r\n1,ada\r\n2,bob\r\n");
    expect(out).toMatch(/\| one \|\n\+-----\+\n\| {3}1 \|\n\+-----\+\nRun Time: real \d+\.\d{3}\nhranad> /);
    expect(out).toContain("| total |\n+-------+\n|     3 |\n");
    expect(out).toContain(".dump [TABLE]");
    expect(out).toContain(".timer on|off");
    expect(run.stderr).toBe(
      "Error: SQLITE_ERROR: no such table: missing\nError: unknown command .nonsense (enter .help for the list)\n",
    );
  });

  it(".dump, loaded back with the shell into an empty database, gives identical tables", async () => {
    const source = createClient({ url: url("source"), intMode: "bigint" });
    await source.executeMultiple(`
      CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id), body TEXT);
      CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, score REAL, views INTEGER,
        cover BLOB, slug TEXT GENERATED ALWAYS AS (lower(title)) VIRTUAL);
      CREATE TABLE "odd ""name""" ("a b" TEXT, c ANY) STRICT;
      CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
      CREATE INDEX posts_title ON posts(title);
      CREATE UNIQUE INDEX comments_body ON comments(post_id, body);
      CREATE VIEW popular AS SELECT title FROM posts WHERE views > 10;
      CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN
        INSERT INTO kv VALUES ('last', new.title) ON CONFLICT (k) DO UPDATE SET v = excluded.v;
      END;
      INSERT INTO posts (title, score, views, cover) VALUES
        ('Hello', 2.0, 9223372036854775807, X'00FF00'),
        ('It''s -- not a comment', -0.5, -9223372036854775808, NULL),
        ('Ünïcødé ✓ 🚀', 1e300, 0, X'');
      DELETE FROM posts WHERE id = 3;
      -- comments is created first and refers to posts: the dump's foreign keys are checked at its commit
      INSERT INTO comments VALUES (1, 2, 'first; of all'), (2, 2, NULL);
      INSERT INTO "odd ""name""" VALUES ('line1
line2', 1), ('x', 1.5), (NULL, 'text'), ('b', X'01');
    `);
    const dump = await shell([url("source"), "-c", ".dump"]);
    expect(dump.stderr).toBe("");
    expect(dump.code).toBe(0);
    expect(dump.stdout).toMatch(/^BEGIN TRANSACTION;\n[\s\S]*\nCOMMIT;\n$/);

    const load = await shell([url("copy", true)], dump.stdout);
    expect(load).toMatchObject({ code: 0, stderr: "" });
    const copy = createClient({ url: url("copy"), intMode: "bigint" });
    try {
      const original = await snapshot(source);
      expect(original.tables.length).toBe(5); // with sqlite_sequence
      expect(await snapshot(copy)).toEqual(original);
      // the copy goes on as the original would: AUTOINCREMENT does not reuse id 3
      await copy.execute("INSERT INTO posts (title) VALUES ('next')");
      expect((await copy.execute("SELECT max(id) AS id FROM posts")).rows[0]!.id).toBe(4n);
    } finally {
      source.close();
      copy.close();
    }
    expect(dump.stderr + load.stderr).not.toMatch(STACK);
  });
});

/** Every schema entry and every row of every table, each value with its type (quote() keeps 2.0 apart from 2). */
async function snapshot(client: Client) {
  const schema = (await client.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")).rows.map(
    (r) => [r.type, r.name, r.tbl_name, r.sql],
  );
  const tables = [];
  for (const [type, name] of schema) {
    if (type !== "table") continue;
    const table = `"${String(name).replaceAll('"', '""')}"`;
    const cols = (await client.execute({ sql: "SELECT name FROM pragma_table_xinfo(?)", args: [String(name)] })).rows.map(
      (r) => `quote("${String(r.name).replaceAll('"', '""')}")`,
    );
    const rows = (await client.execute(`SELECT ${cols.join(" || ',' || ")} AS r FROM ${table}`)).rows.map((r) => String(r.r));
    tables.push([name, rows.sort()]);
  }
  return { schema, tables };
}
