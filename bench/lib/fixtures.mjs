// Database files the benchmarks read, written with better-sqlite3 before the server starts.
import Database from "better-sqlite3";

export const KV_ROWS = 10_000;
export const POINT_SELECT = "SELECT id, v FROM kv WHERE id = ?";

/** Opens a file with the server's settings (WAL, synchronous NORMAL), so in-process figures are comparable. */
export function openLikeServer(path) {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  return db;
}

/** `kv(id INTEGER PRIMARY KEY, v TEXT)` with `KV_ROWS` rows. */
export function createKv(path) {
  const db = openLikeServer(path);
  db.exec("CREATE TABLE IF NOT EXISTS kv (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${KV_ROWS})
           INSERT OR REPLACE INTO kv SELECT i, printf('value-%06d', i) FROM n`);
  db.close();
}

/** `big(id INTEGER PRIMARY KEY, name TEXT, score REAL)` with `rows` rows. */
export function createBig(path, rows) {
  const db = openLikeServer(path);
  db.exec("CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL NOT NULL)");
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
           INSERT INTO big SELECT i, printf('row-%08d', i), i * 0.5 FROM n`);
  db.close();
}

/** Runs `step()` in a tight loop for `ms` milliseconds; returns operations per second. */
export function loopFor(ms, step) {
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(ms * 1e6));
  let ops = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 256; i++) step(ops++);
    now = process.hrtime.bigint();
  }
  return ops / (Number(now - start) / 1e9);
}
