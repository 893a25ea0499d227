import { describe, expect, it } from "vitest";
import type { ConformanceContext } from "./context.js";

/**
 * `Connection.holdsState`: whether a user left state on the connection that another connection would not have, so
 * that a stream holding it must keep it (the session store gives an idle stream's connection back otherwise).
 */
export function holdsStateTests(ctx: ConformanceContext): void {
  describe("holdsState", () => {
    it("is false after plain statements, true after a TEMP object, a setting or an attachment, cleared by the pool", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      try {
        let c = await pool.acquire();
        await c.execute({ sql: "CREATE TABLE t (x)" });
        await c.execute({ sql: "INSERT INTO t VALUES (1)" });
        await c.execute({ sql: "SELECT * FROM t" });
        await c.executeScript("SELECT 1; SELECT 2");
        expect(c.holdsState).toBe(false);
        await c.execute({ sql: "CREATE TEMP TABLE scratch (v)" });
        expect(c.holdsState).toBe(true);
        await c.execute({ sql: "SELECT 1" });
        expect(c.holdsState).toBe(true); // sticky until the connection goes back to its pool
        await c.release();

        c = await pool.acquire();
        expect(c.holdsState).toBe(false); // the same connection, its last user's state cleared before any request
        await c.execute({ sql: "SELECT count(*) FROM t" });
        expect(c.holdsState).toBe(false);
        await c.executeScript("PRAGMA foreign_keys = ON");
        expect(c.holdsState).toBe(true);
        await c.release();

        c = await pool.acquire();
        await c.execute({ sql: "SELECT 1" });
        expect(c.holdsState).toBe(false);
        await c.execute({ sql: "PRAGMA cache_size = 100" });
        expect(c.holdsState).toBe(true);
        await c.release();
      } finally {
        await pool.close();
      }
    });

    it("stays false for cached statements and read-only switches", async () => {
      const pool = await ctx.pool({ maxConnections: 1 });
      try {
        const c = await pool.acquire();
        for (let i = 0; i < 3; i++) await c.execute({ sql: "SELECT ?", args: [BigInt(i)] });
        await c.setReadOnly(true);
        await c.execute({ sql: "SELECT 1" });
        await c.setReadOnly(false);
        expect(c.holdsState).toBe(false);
        await c.release();
      } finally {
        await pool.close();
      }
    });
  });
}
