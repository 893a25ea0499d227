import { statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Registry, WalGuard } from "../src/index.js";
import { realDriver, tempDir } from "./helpers.js";

const MiB = 1024 * 1024;
const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined };

describe("WalGuard", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: Registry;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    // No journal_size_limit: only the guard may shrink the WAL here.
    registry = new Registry({ dataDir: dir, drivers: [realDriver], databases: [{ name: "db", mode: "create", open: { journalSizeLimitBytes: -1 } }] });
  });
  afterEach(async () => {
    await registry.closeAll();
    await cleanup();
  });

  const walBytes = () => {
    try {
      return statSync(join(dir, "db.db-wal")).size;
    } catch {
      return 0;
    }
  };

  it("leaves a WAL pinned by a reader alone, and truncates it once the reader is gone", async () => {
    const handle = await registry.get("db");
    const { pool } = handle.database;
    const writer = await pool.acquire();
    const reader = await pool.acquire();
    await writer.execute({ sql: "CREATE TABLE t (v)" });
    await writer.execute({ sql: "INSERT INTO t VALUES (1)" });
    // The reader's snapshot keeps every later frame in the WAL.
    await reader.execute({ sql: "BEGIN" });
    await reader.execute({ sql: "SELECT count(*) FROM t" });
    for (let i = 0; i < 20; i++) {
      await writer.execute({ sql: "INSERT INTO t SELECT printf('%.*c', 100000, 'x') FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)" });
    }
    expect(walBytes()).toBeGreaterThan(4 * MiB);
    const guard = new WalGuard(registry, MiB, quiet);
    await guard.check();
    expect(walBytes()).toBeGreaterThan(4 * MiB);

    await reader.execute({ sql: "ROLLBACK" });
    await reader.release();
    await writer.release();
    await guard.check();
    expect(walBytes()).toBe(0);
    handle.release();
  });

  it("does nothing to a WAL under its bound", async () => {
    const handle = await registry.get("db");
    const conn = await handle.database.pool.acquire();
    await conn.execute({ sql: "CREATE TABLE t (v)" });
    await conn.release();
    const before = walBytes();
    expect(before).toBeGreaterThan(0);
    await new WalGuard(registry, 64 * MiB, quiet).check();
    expect(walBytes()).toBe(before);
    handle.release();
  });
});

describe("externalCheckpoints (a replicator owns the checkpoints)", () => {
  it("opens connections with automatic checkpoints off, the guard leaves the WAL alone, and close still checkpoints", async () => {
    const { dir, cleanup } = await tempDir();
    const registry = new Registry({
      dataDir: dir,
      drivers: [realDriver],
      databases: [
        { name: "replicated", mode: "create", externalCheckpoints: true, open: { journalSizeLimitBytes: -1 } },
        { name: "plain", mode: "create", open: { journalSizeLimitBytes: -1 } },
      ],
    });
    try {
      const wal = (name: string) => {
        try {
          return statSync(join(dir, `${name}.db-wal`)).size;
        } catch {
          return 0; // the last connection to close removes the WAL
        }
      };
      for (const name of ["replicated", "plain"]) {
        const handle = await registry.get(name);
        const conn = await handle.database.pool.acquire();
        expect((await conn.execute({ sql: "PRAGMA wal_autocheckpoint" })).rows).toEqual([[name === "replicated" ? 0n : 1000n]]);
        await conn.execute({ sql: "CREATE TABLE t (v)" });
        // 2 000 pages: past the automatic checkpoint's 1 000.
        for (let i = 0; i < 4; i++) {
          await conn.execute({ sql: "INSERT INTO t SELECT randomblob(3900) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 500) SELECT i FROM c)" });
        }
        await conn.release();
        handle.release();
      }
      const replicatedBefore = wal("replicated");
      expect(replicatedBefore).toBeGreaterThan(2 * MiB);
      await new WalGuard(registry, MiB, quiet).check();
      expect(wal("replicated")).toBe(replicatedBefore);
      expect(wal("plain")).toBe(0);
      await registry.closeAll();
      expect(wal("replicated")).toBe(0);
    } finally {
      await registry.closeAll();
      await cleanup();
    }
  });

  it("refuses a non-boolean", () => {
    expect(() => new Registry({ dataDir: "/tmp", drivers: [realDriver], databases: [{ name: "x", externalCheckpoints: "yes" as unknown as boolean }] })).toThrow(
      /externalCheckpoints must be a boolean/,
    );
  });
});
