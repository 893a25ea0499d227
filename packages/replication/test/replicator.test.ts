/**
 * The Litestream supervisor against the real litestream binary and a file replica: every write reaches the replica,
 * a killed Litestream is restarted and loses nothing, databases that appear later are replicated, lag is reported,
 * restore checks and refuses to overwrite, and snapshots are consistent while writers run.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { integrityCheck, parseReplication, Replicator, restoreDatabases, writeSnapshot, type ReplicationConfig } from "../src/index.js";

interface SqliteDatabase {
  pragma(source: string): unknown;
  exec(source: string): void;
  prepare(source: string): { run(...args: unknown[]): unknown; get(...args: unknown[]): Record<string, unknown> | undefined };
  close(): void;
}
const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string, options?: object) => SqliteDatabase;

/** A database as hranad opens a replicated one: WAL, no automatic checkpoints, a busy timeout. */
function openDb(path: string): SqliteDatabase {
  const db = new Database(path);
  db.pragma("journal_mode = wal");
  db.pragma("wal_autocheckpoint = 0");
  db.pragma("busy_timeout = 5000");
  db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)");
  return db;
}

function count(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return Number(db.prepare("SELECT count(*) AS n FROM t").get()!.n);
  } finally {
    db.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Replicator with the real litestream and a file replica", () => {
  let dir: string;
  let config: ReplicationConfig;
  const replicators: Replicator[] = [];
  const make = (databases: { name: string; path: string }[]) => {
    const replicator = new Replicator({ config, databases, restartDelayMs: 100, pollIntervalMs: 100 });
    replicators.push(replicator);
    return replicator;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "hranad-replication-"));
    config = parseReplication({ url: `file://${dir}/replica`, syncInterval: "200ms" })!;
  });
  afterEach(async () => {
    for (const replicator of replicators.splice(0)) await replicator.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("restarts a Litestream killed with SIGKILL under load, and the replica holds every write", async () => {
    const path = join(dir, "a.db");
    const db = openDb(path);
    const replicator = make([{ name: "a", path }]);
    await replicator.start();
    let written = 0;
    let killed = false;
    while (written < 3000) {
      db.prepare("INSERT INTO t (v) VALUES (?)").run(`row ${written}`);
      written++;
      if (written === 1000) {
        process.kill(replicator.pid!, "SIGKILL");
        killed = true;
      }
      if (written % 50 === 0) await sleep(5);
    }
    expect(killed).toBe(true);
    await vi.waitFor(() => expect(replicator.status()).toMatchObject({ state: "running", restarts: 1, lastExit: "killed by SIGKILL" }), {
      timeout: 30_000,
    });
    await replicator.stop();
    db.close();
    const [result] = await restoreDatabases({ config, databases: [{ name: "a", path: join(dir, "restored", "a.db") }] });
    expect(result!.outcome).toBe("restored");
    expect(count(result!.path)).toBe(3000);
  });

  it("replicates a database whose file appears later and one added at run time", async () => {
    const a = join(dir, "a.db");
    const b = join(dir, "b.db");
    const replicator = make([{ name: "a", path: a }]);
    await replicator.start();
    // The file is created after Litestream started (a database opened lazily on its first request).
    const dbA = openDb(a);
    for (let i = 0; i < 10; i++) dbA.prepare("INSERT INTO t (v) VALUES (?)").run("a");
    await replicator.setDatabases([
      { name: "a", path: a },
      { name: "b", path: b },
    ]);
    const dbB = openDb(b);
    for (let i = 0; i < 20; i++) dbB.prepare("INSERT INTO t (v) VALUES (?)").run("b");
    for (let i = 0; i < 5; i++) dbA.prepare("INSERT INTO t (v) VALUES (?)").run("a");
    await replicator.stop();
    dbA.close();
    dbB.close();
    const results = await restoreDatabases({
      config,
      databases: [
        { name: "a", path: join(dir, "restored", "a.db") },
        { name: "b", path: join(dir, "restored", "b.db") },
      ],
    });
    expect(results.map((r) => r.outcome)).toEqual(["restored", "restored"]);
    expect(count(results[0]!.path)).toBe(15);
    expect(count(results[1]!.path)).toBe(20);
  });

  it("reports lag: zero once the replica holds every change, growing while Litestream is paused", async () => {
    const path = join(dir, "a.db");
    const db = openDb(path);
    const replicator = make([{ name: "a", path }]);
    await replicator.start();
    db.prepare("INSERT INTO t (v) VALUES ('x')").run();
    await vi.waitFor(
      () => {
        const [lag] = replicator.lag();
        expect(lag).toMatchObject({ name: "a", lagMs: 0, exists: true });
        expect(lag!.replicatedAt).not.toBeNull();
      },
      { timeout: 30_000, interval: 100 },
    );
    const pid = replicator.pid!;
    process.kill(pid, "SIGSTOP");
    try {
      db.prepare("INSERT INTO t (v) VALUES ('y')").run();
      await vi.waitFor(() => expect(replicator.lag()[0]!.lagMs).toBeGreaterThan(0), { timeout: 30_000, interval: 100 });
      const first = replicator.lag()[0]!.lagMs;
      await vi.waitFor(() => expect(replicator.lag()[0]!.lagMs).toBeGreaterThan(first), { timeout: 30_000, interval: 100 });
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await vi.waitFor(() => expect(replicator.lag()[0]!.lagMs).toBe(0), { timeout: 30_000, interval: 100 });
    expect(replicator.status()).toMatchObject({ state: "running", restarts: 0, databases: [{ name: "a", lagMs: 0 }] });
    db.close();
  });

  it("restore refuses to overwrite a file, and tells a database that was never replicated", async () => {
    const path = join(dir, "a.db");
    const db = openDb(path);
    db.prepare("INSERT INTO t (v) VALUES ('x')").run();
    const replicator = make([{ name: "a", path }]);
    await replicator.start();
    await replicator.stop();
    db.close();
    const target = join(dir, "restored");
    rmSync(target, { recursive: true, force: true });
    const existing = join(dir, "existing.db");
    writeFileSync(existing, "");
    await expect(restoreDatabases({ config, databases: [{ name: "a", path: existing }] })).rejects.toThrow(
      /database "a": .*existing\.db already exists; restore never overwrites a database/,
    );
    const results = await restoreDatabases({
      config,
      databases: [
        { name: "a", path: join(target, "a.db") },
        { name: "never", path: join(target, "never.db") },
      ],
    });
    expect(results.map((r) => r.outcome)).toEqual(["restored", "no-replica"]);
    expect(existsSync(join(target, "never.db"))).toBe(false);
    expect(count(join(target, "a.db"))).toBe(1);
  });

  it("fails to start with a clear message when Litestream exits at once, and stays stopped", async () => {
    const replicator = new Replicator({ config, databases: [{ name: "a", path: join(dir, "a.db") }], binary: "/bin/false", restartDelayMs: 50 });
    replicators.push(replicator);
    await expect(replicator.start()).rejects.toThrow("litestream stopped at start: exited with code 1");
    await sleep(200);
    expect(replicator.status()).toMatchObject({ state: "stopped", pid: null, restarts: 0 });
  });

  it("takes a consistent snapshot while a writer commits", async () => {
    const path = join(dir, "a.db");
    const db = openDb(path);
    db.exec("CREATE TABLE pairs (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)");
    let stop = false;
    let commits = 0;
    const writer = (async () => {
      while (!stop) {
        // Each transaction keeps a + b = 0 in every row it writes: a torn copy would break it.
        db.exec("BEGIN IMMEDIATE");
        const n = commits++;
        db.prepare("INSERT INTO pairs (a, b) VALUES (?, ?)").run(n, -n);
        db.prepare("UPDATE pairs SET a = a + 1, b = b - 1 WHERE id % 7 = ?").run(n % 7);
        db.exec("COMMIT");
        await sleep(0);
      }
    })();
    await sleep(50);
    const copies = [join(dir, "s1.db"), join(dir, "s2.db")];
    for (const copy of copies) await writeSnapshot(path, copy);
    stop = true;
    await writer;
    db.close();
    for (const copy of copies) {
      expect(await integrityCheck(copy)).toEqual(["ok"]);
      const snapshot = new Database(copy, { readonly: true });
      const row = snapshot.prepare("SELECT count(*) AS n, sum(a + b) AS drift FROM pairs").get()!;
      snapshot.close();
      expect(Number(row.n)).toBeGreaterThan(0);
      expect(Number(row.drift)).toBe(0);
    }
    await expect(writeSnapshot(path, copies[0]!)).rejects.toThrow(/output file already exists/);
  });
});
