import { describe, expect, it } from "vitest";
import type { ConformanceContext } from "./context.js";
import { RUNAWAY } from "./transactions.js";

export function deadlineTests(ctx: ConformanceContext): void {
  describe("statement deadline", () => {
    it("interrupts a runaway statement inside SQLite; the connection stays usable", async () => {
      const pool = await ctx.pool({ statementTimeoutMs: 300 });
      const c = await pool.acquire();
      await expect(c.execute({ sql: RUNAWAY })).rejects.toMatchObject({ name: "SqliteError", code: "SQLITE_INTERRUPT" });
      expect(c.autocommit).toBe(true);
      expect((await c.execute({ sql: "SELECT 1" })).rows).toEqual([[1n]]);
      await expect(c.executeScript(`SELECT 1; ${RUNAWAY};`)).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
      expect((await c.execute({ sql: "SELECT 2" })).rows).toEqual([[2n]]);
      await c.release();
    });

    it("does not block the event loop or other databases while a statement runs", async () => {
      const slow = await ctx.pool({ statementTimeoutMs: 500 });
      const fast = await ctx.pool();
      const s = await slow.acquire();
      const f = await fast.acquire();
      let settled = false;
      const running = s.execute({ sql: RUNAWAY }).then(
        () => (settled = true),
        () => (settled = true),
      );
      // Another database answers, and timers fire, while the slow statement still runs.
      for (let i = 0; i < 5; i += 1) expect((await f.execute({ sql: "SELECT ?", args: [BigInt(i)] })).rows).toEqual([[BigInt(i)]]);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(settled).toBe(false);
      await running;
      await Promise.all([s.release(), f.release()]);
    });
  });
}
