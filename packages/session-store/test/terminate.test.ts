import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionStore } from "../src/index.js";
import { closeEverything, DRIVERS, exec, makeHarness, rejection, type Harness } from "./support.js";

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`terminate on ${name}`, () => {
    let h: Harness;
    let store: SessionStore;

    beforeEach(async () => {
      h = await makeHarness(driver!, { busyTimeoutMs: 1500, maxConnections: 3 });
      store = new SessionStore();
    });
    afterEach(async () => {
      await closeEverything(store);
      await h.cleanup();
    });

    it("interrupts a runaway statement of a busy session and returns its connection clean", async () => {
      const session = await store.open(h.db, h.handles.handle(), "alice", false);
      await exec(session, "BEGIN");
      await exec(session, "INSERT INTO t (x) VALUES (1)");
      const runaway = rejection(exec(session, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await store.terminate(session, "killed");
      expect(await runaway).toMatchObject({ code: "SQLITE_INTERRUPT" });
      expect(await h.committedRows()).toEqual([]);
      expect(h.pool.stats().inUse).toBe(0);
      // The returned connection holds no lock: another session writes at once.
      const next = await store.open(h.db, h.handles.handle(), "bob", false);
      await exec(next, "INSERT INTO t (x) VALUES (2)");
      expect(await h.committedRows()).toEqual([2n]);
    });

    it("waits for a call still in flight before it rolls back and releases (no lock is left on a pooled connection)", async () => {
      const holder = await store.open(h.db, h.handles.handle(), "alice", false);
      await exec(holder, "BEGIN IMMEDIATE");
      const waiter = await store.open(h.db, h.handles.handle(), "bob", false);
      // Queues behind the holder's write lock (a busy wait, which an interrupt does not cut short).
      const begin = exec(waiter, "BEGIN IMMEDIATE").catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const ending = store.terminate(waiter, "closed");
      // The holder commits: the waiter's BEGIN IMMEDIATE may now get the lock, after its session ended.
      await exec(holder, "COMMIT");
      await ending;
      await begin;
      expect(h.pool.stats().inUse).toBe(1);
      // No connection idle in the pool holds the write lock now: a writer from elsewhere gets it.
      const elsewhere = await driver!.open({ path: h.path, mode: "readwrite", maxConnections: 1, busyTimeoutMs: 1500 });
      try {
        const writer = await elsewhere.acquire();
        await writer.execute({ sql: "INSERT INTO t (x) VALUES (3)" });
        await writer.release();
      } finally {
        await elsewhere.close();
      }
      expect(await h.committedRows()).toEqual([3n]);
    });
  });
}
