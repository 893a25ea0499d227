import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@libsql/client";
import { startTestServer, type TestServer } from "@hranad/server/testing";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { posts, users } from "../drizzle/schema.js";

const ROOT = join(import.meta.dirname, "..");
const DRIZZLE_KIT = join(ROOT, "node_modules", "drizzle-kit", "bin.cjs"); // the `drizzle-kit` command

let server: TestServer;
let out: string;
beforeAll(async () => {
  server = await startTestServer({ databases: [{ name: "default" }, { name: "migrated" }, { name: "pushed" }] });
  out = mkdtempSync(join(tmpdir(), "hranad-drizzle-"));
});
afterAll(async () => {
  await server.close();
  rmSync(out, { recursive: true, force: true });
});

/** Runs `drizzle-kit ARGS` with drizzle.config.ts (dialect turso) pointed at `url`. */
function drizzleKit(args: string[], url: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [DRIZZLE_KIT, ...args, "--config", "drizzle.config.ts"], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, DRIZZLE_OUT: out, NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, output })));
}

/** The schema as SQLite holds it, without drizzle-kit's own bookkeeping. */
async function schemaOf(client: Client): Promise<unknown[]> {
  const rs = await client.execute(
    "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE '%drizzle%' ORDER BY type, name",
  );
  return rs.rows.map((r) => [r.type, r.name, r.tbl_name, r.sql]);
}

describe("Drizzle Kit (dialect turso) against hranad", () => {
  it("generate, then migrate over http: applied once, and a second migrate is a no-op", async () => {
    const generated = await drizzleKit(["generate", "--name", "init"], "http://127.0.0.1:1");
    expect(generated.code, generated.output).toBe(0);
    expect(readdirSync(out)).toContain("0000_init.sql");

    const url = `${server.url}/migrated/`;
    for (let run = 0; run < 2; run += 1) {
      const migrated = await drizzleKit(["migrate"], url);
      expect(migrated.code, migrated.output).toBe(0);
    }
    const client = createClient({ url });
    try {
      const applied = await client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
      expect(applied.rows[0]!.n).toBe(1);
      const names = (await schemaOf(client)).map((r) => (r as unknown[])[1]);
      expect(names).toEqual(expect.arrayContaining(["posts", "users", "posts_author_idx", "users_email_unique"]));
    } finally {
      client.close();
    }
  });

  it("push over WebSocket makes the same schema; a second push finds nothing to change; drizzle-orm works on it", async () => {
    const url = `${server.wsUrl}/pushed/`;
    const pushed = await drizzleKit(["push", "--force"], url);
    expect(pushed.code, pushed.output).toBe(0);
    expect(pushed.output).toContain("Changes applied");
    const again = await drizzleKit(["push", "--force"], url);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain("No changes detected");

    const client = createClient({ url });
    const migrated = createClient({ url: `${server.url}/migrated/` });
    try {
      expect(await schemaOf(client)).toEqual(await schemaOf(migrated));
      const db = drizzle(client, { schema: { users, posts } });
      const [ada] = await db.insert(users).values({ email: "ada@example.com", name: "Ada" }).returning();
      await db.insert(posts).values([
        { authorId: ada!.id, title: "one", views: 3 },
        { authorId: ada!.id, title: "two" },
      ]);
      const rows = await db
        .select({ title: posts.title, views: posts.views, author: users.name })
        .from(posts)
        .innerJoin(users, eq(posts.authorId, users.id))
        .orderBy(posts.id);
      expect(rows).toEqual([
        { title: "one", views: 3, author: "Ada" },
        { title: "two", views: 0, author: "Ada" },
      ]);
      const [first] = await db.select().from(posts).limit(1);
      expect(first!.createdAt).toBeInstanceOf(Date);
      await db.delete(users).where(eq(users.id, ada!.id)); // ON DELETE CASCADE, foreign keys enforced
      expect(await db.select({ n: sql<number>`count(*)` }).from(posts)).toEqual([{ n: 0 }]);
    } finally {
      client.close();
      migrated.close();
    }
  });
});
