import { describe, expect, it } from "vitest";
import { sqliteBaseCodeName, sqliteCodeName, sqliteCodeNumber } from "../src/index.js";
import { LruCache } from "../src/lru-cache.js";
import { normalizeError, scrubPath } from "../src/engine/errors.js";

describe("SQLite result codes", () => {
  it("names primary and extended codes and finds the base of an extended name", () => {
    expect(sqliteCodeName(19)).toBe("SQLITE_CONSTRAINT");
    expect(sqliteCodeName(1555)).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
    expect(sqliteCodeNumber("SQLITE_BUSY_TIMEOUT")).toBe(773);
    expect(sqliteBaseCodeName("SQLITE_IOERR_SHORT_READ")).toBe("SQLITE_IOERR");
    expect(sqliteBaseCodeName("SQLITE_SOMETHING_NEW")).toBe("SQLITE_SOMETHING");
  });
});

describe("normalizeError", () => {
  it("turns a binding's coded error into a SqliteError with base and extended codes, without the path", () => {
    const raw = Object.assign(new Error("UNIQUE constraint failed in /srv/data/x.db"), { code: "SQLITE_CONSTRAINT_UNIQUE" });
    expect(normalizeError(raw, "/srv/data/x.db")).toMatchObject({
      name: "SqliteError",
      code: "SQLITE_CONSTRAINT",
      extendedCode: "SQLITE_CONSTRAINT_UNIQUE",
      rawCode: 2067,
      message: "UNIQUE constraint failed in <database>",
    });
  });

  it("uses rawCode when the binding gives one", () => {
    const raw = Object.assign(new Error("busy"), { code: "SQLITE_BUSY", rawCode: 5 });
    expect(normalizeError(raw, "")).toMatchObject({ code: "SQLITE_BUSY", extendedCode: "SQLITE_BUSY", rawCode: 5 });
  });

  it("leaves other errors alone", () => {
    const plain = new TypeError("x");
    expect(normalizeError(plain, "/a")).toBe(plain);
  });

  it("scrubs the URI-encoded spelling of a path too", () => {
    expect(scrubPath("cannot open file:///srv/my%20db.db?mode=rw", "/srv/my db.db")).toBe("cannot open file://<database>?mode=rw");
  });
});

describe("LruCache", () => {
  it("evicts the least recently used entry", () => {
    const cache = new LruCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1);
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.size).toBe(2);
  });
});
