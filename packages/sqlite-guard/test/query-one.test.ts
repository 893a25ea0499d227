import BetterSqlite3 from "better-sqlite3";
import Libsql from "libsql";
import { expect, it } from "vitest";
import { extensionPath, queryOneFrom, type GuardableDatabase } from "../src/index.js";

it("accepts both drivers' database objects as they are typed, without casts", () => {
  const databases: GuardableDatabase[] = [new BetterSqlite3(":memory:"), new Libsql(":memory:")];
  for (const db of databases) {
    (db as unknown as { loadExtension(path: string): void }).loadExtension(extensionPath);
    expect(queryOneFrom(db)("SELECT ? + 1 AS value", 41)).toBe(42);
    expect(queryOneFrom(db)("SELECT 'x' AS other")).toBe("x");
    (db as unknown as { close(): void }).close();
  }
});
