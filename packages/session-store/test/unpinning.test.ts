import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionStore } from "../src/index.js";
import { closeEverything, DRIVERS, exec, makeHarness, rejection, type Harness } from "./support.js";

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`idle streams hold no connection on ${name}`, () => {
    let h: Harness;
    let store: SessionStore;

    beforeEach(async () => {
      h = await makeHarness(driver!, { maxConnections: 2, acquireTimeoutMs: 2000 });
      store = new SessionStore();
    });
    afterEach(async () => {
      await closeEverything(store);
      await h.cleanup();
    });

    const open = (principal = "alice", readOnly = false) => store.open(h.db, h.handles.handle(), principal, readOnly);
    const idle = async (session: Awaited<ReturnType<typeof open>>) => {
      const baton = store.baton(session);
      await store.settled();
      return baton;
    };

    it("an idle stream in autocommit gives its connection back and takes one again on its next request", async () => {
      const session = await open();
      await exec(session, "INSERT INTO t (x) VALUES (1)");
      const baton = await idle(session);
      expect(h.pool.stats().inUse).toBe(0);
      expect(store.list()[0]).toMatchObject({ holdsConnection: false, inTransaction: false });
      const again = store.resume(baton, "main", "alice");
      const rows = await exec(again, "SELECT x FROM t");
      expect(rows.rows).toEqual([[1n]]);
      expect(h.pool.stats().inUse).toBe(1);
    });

    it("many abandoned idle streams do not starve the pool", async () => {
      const abandoned = [];
      for (let i = 0; i < 10; i++) {
        const session = await open(`client-${i}`);
        await exec(session, "SELECT 1");
        await idle(session);
        abandoned.push(session);
      }
      expect(store.count()).toBe(10);
      expect(h.pool.stats().inUse).toBe(0);
      const other = await open("bob");
      await exec(other, "INSERT INTO t (x) VALUES (2)");
      expect(await h.committedRows()).toEqual([2n]);
    });

    it("a stream inside a transaction keeps its connection (and its uncommitted rows)", async () => {
      const session = await open();
      await exec(session, "BEGIN");
      await exec(session, "INSERT INTO t (x) VALUES (3)");
      const baton = await idle(session);
      expect(h.pool.stats().inUse).toBe(1);
      expect(store.list()[0]).toMatchObject({ holdsConnection: true, inTransaction: true });
      const again = store.resume(baton, "main", "alice");
      expect((await exec(again, "SELECT x FROM t")).rows).toEqual([[3n]]);
      await exec(again, "COMMIT");
      await idle(again);
      expect(h.pool.stats().inUse).toBe(0);
      expect(await h.committedRows()).toEqual([3n]);
    });

    it("a stream with per-connection state (a TEMP table, a setting) keeps its connection", async () => {
      const session = await open();
      await exec(session, "CREATE TEMP TABLE scratch (v)");
      await exec(session, "INSERT INTO scratch VALUES (42)");
      let baton = await idle(session);
      expect(h.pool.stats().inUse).toBe(1);
      const again = store.resume(baton, "main", "alice");
      expect((await exec(again, "SELECT v FROM scratch")).rows).toEqual([[42n]]);
      baton = await idle(again);

      const other = await open("bob");
      await exec(other, "PRAGMA foreign_keys = ON");
      await idle(other);
      expect(h.pool.stats().inUse).toBe(2);
      expect(store.list().map((info) => info.holdsConnection)).toEqual([true, true]);
    });

    it("a read-only stream is read-only on every connection it takes", async () => {
      const session = await open("alice", true);
      await exec(session, "SELECT 1");
      const baton = await idle(session);
      expect(h.pool.stats().inUse).toBe(0);
      const again = store.resume(baton, "main", "alice");
      expect(await rejection(exec(again, "INSERT INTO t (x) VALUES (4)"))).toMatchObject({ code: "SQLITE_AUTH" });
      await idle(again);
      // The connection it gave back is writable for the next user.
      const writer = await open("bob");
      await exec(writer, "INSERT INTO t (x) VALUES (5)");
      expect(await h.committedRows()).toEqual([5n]);
    });

    it("a stream that ends while it holds no connection ends cleanly, and its baton says why", async () => {
      const session = await open();
      await exec(session, "SELECT 1");
      const baton = await idle(session);
      expect(await store.kill(session.id)).toBe("killed");
      expect(() => store.resume(baton, "main", "alice")).toThrow(expect.objectContaining({ code: "STREAM_KILLED" }));
      expect(h.pool.stats().inUse).toBe(0);
      expect(h.handles.released).toBe(1);
    });
  });
}
