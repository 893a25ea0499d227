import type { Value } from "@libsql/client";
import { sqlLiteral } from "./format.js";
import { ShellError, type Session } from "./session.js";

const NOT_INTERNAL = "name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function rows(session: Session, sql: string, args: Value[] = []): Promise<Value[][]> {
  const rs = await session.execute({ sql, args });
  if (!rs) throw new ShellError(`unexpected statement: ${sql}`, "sql");
  return rs.rows.map((row) => rs.columns.map((_, i) => row[i] ?? null));
}

/** Names laid out in columns, as sqlite3's `.tables` does. */
export function columns(names: readonly string[], lineWidth = 80): string {
  if (names.length === 0) return "";
  const w = Math.max(...names.map((n) => n.length)) + 2;
  const perLine = Math.max(1, Math.floor(lineWidth / w));
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += perLine) {
    lines.push(
      names
        .slice(i, i + perLine)
        .map((n) => n.padEnd(w))
        .join("")
        .trimEnd(),
    );
  }
  return `${lines.join("\n")}\n`;
}

export async function tables(session: Session, pattern?: string): Promise<string> {
  const found = await rows(
    session,
    `SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND ${NOT_INTERNAL}` +
      (pattern ? " AND name LIKE ?" : "") +
      " ORDER BY name",
    pattern ? [pattern] : [],
  );
  return columns(found.map((r) => String(r[0])));
}

export async function indexes(session: Session, table?: string): Promise<string> {
  const found = await rows(
    session,
    "SELECT name FROM sqlite_schema WHERE type = 'index'" + (table ? " AND tbl_name LIKE ?" : "") + " ORDER BY name",
    table ? [table] : [],
  );
  return columns(found.map((r) => String(r[0])));
}

export async function schema(session: Session, table?: string): Promise<string> {
  const found = await rows(
    session,
    `SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND ${NOT_INTERNAL}` +
      (table ? " AND tbl_name LIKE ?" : "") +
      " ORDER BY rowid",
    table ? [table] : [],
  );
  return found.map((r) => `${String(r[0])};\n`).join("");
}

/**
 * SQL text that recreates the database (or the tables matching `table`): in one transaction with foreign keys
 * checked at its commit, the tables, their rows, `sqlite_sequence`, then indexes, triggers and views (so that no
 * trigger fires on the load). It is read in one read transaction, so it is consistent.
 */
export async function dump(session: Session, write: (text: string) => void, table?: string): Promise<void> {
  const own = !session.inTransaction;
  if (own) await session.begin("read");
  try {
    const objects = await rows(
      session,
      "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL" +
        (table ? " AND tbl_name LIKE ?" : "") +
        " ORDER BY rowid",
      table ? [table] : [],
    );
    write("BEGIN TRANSACTION;\nPRAGMA defer_foreign_keys=ON;\n");
    // Every table before any row (a row's foreign key needs its parent table to exist, even when deferred)
    const filled: string[] = [];
    let sequence = false;
    for (const [type, name, sql] of objects) {
      if (type !== "table") continue;
      const tableName = String(name);
      if (tableName === "sqlite_sequence") sequence = true;
      if (tableName.startsWith("sqlite_")) continue; // sqlite_sequence is SQLite's own, as are sqlite_stat1 and co.
      write(`${String(sql)};\n`);
      if (!/^CREATE\s+VIRTUAL\s+TABLE/i.test(String(sql))) filled.push(tableName);
    }
    for (const tableName of filled) await tableRows(session, tableName, write);
    if (sequence) {
      write("DELETE FROM sqlite_sequence;\n");
      await tableRows(session, "sqlite_sequence", write);
    }
    for (const [type, , sql] of objects) {
      if (type !== "table") write(`${String(sql)};\n`);
    }
    write("COMMIT;\n");
  } finally {
    if (own) await session.rollback();
  }
}

async function tableRows(session: Session, table: string, write: (text: string) => void): Promise<void> {
  const info = await rows(session, `SELECT name, hidden FROM pragma_table_xinfo(?)`, [table]);
  const stored = info.filter((c) => Number(c[1]) === 0).map((c) => quoteIdent(String(c[0])));
  const columnList = stored.length < info.length ? `(${stored.join(",")})` : "";
  const data = await rows(session, `SELECT ${stored.join(", ")} FROM ${quoteIdent(table)}`);
  for (const row of data) {
    write(`INSERT INTO ${quoteIdent(table)}${columnList} VALUES(${row.map(sqlLiteral).join(",")});\n`);
  }
}
