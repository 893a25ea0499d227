import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionStore } from "../src/index.js";
import { closeEverything, DRIVERS, exec, makeHarness, rejection, type Harness } from "./support.js";

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`BEGIN TRANSACTION READONLY on ${name}`, () => {
    let h: Harness;
    let store: SessionStore;

    beforeEach(async () => {
      h = await makeHarness(driver!);
      store = new SessionStore();
    });
    afterEach(async () => {
      await closeEverything(store);
      await h.cleanup();
    });

    it("refuses writes inside the transaction (in the engine), and allows them again after COMMIT", async () => {
      const session = await store.open(h.db, h.handles.handle(), "alice", false);
      await exec(session, "BEGIN TRANSACTION READONLY");
      expect(session.connection.autocommit).toBe(false);
      expect(session.connection.readOnly).toBe(true);
      expect(await rejection(exec(session, "INSERT INTO t (x) VALUES (1)"))).toMatchObject({ code: "SQLITE_AUTH" });
      // The refused write did not end the transaction: it is still read-only.
      expect(session.connection.readOnly).toBe(true);
      await exec(session, "COMMIT");
      expect(session.connection.readOnly).toBe(false);
      await exec(session, "INSERT INTO t (x) VALUES (2)");
      expect(await h.committedRows()).toEqual([2n]);
    });

    it("also through a cursor, and ROLLBACK ends it too", async () => {
      const session = await store.open(h.db, h.handles.handle(), "alice", false);
      const begin = await session.connection.openCursor({ sql: "begin deferred transaction readonly;" });
      expect((await begin.next(10)).done).toBe(true);
      await begin.close();
      expect(session.connection.readOnly).toBe(true);
      const write = await rejection(session.connection.openCursor({ sql: "INSERT INTO t (x) VALUES (3)" }));
      expect(write).toMatchObject({ code: "SQLITE_AUTH" });
      await exec(session, "ROLLBACK");
      expect(session.connection.readOnly).toBe(false);
    });

    it("never switches a read-only session's guard off", async () => {
      const session = await store.open(h.db, h.handles.handle(), "alice", true);
      await exec(session, "BEGIN TRANSACTION READONLY");
      await exec(session, "COMMIT");
      expect(session.connection.readOnly).toBe(true);
      expect(await rejection(exec(session, "INSERT INTO t (x) VALUES (4)"))).toMatchObject({ code: "SQLITE_AUTH" });
    });

    it("a stream closed inside a read-only transaction returns its connection writable", async () => {
      const session = await store.open(h.db, h.handles.handle(), "alice", false);
      await exec(session, "BEGIN TRANSACTION READONLY");
      await store.close(session);
      const next = await store.open(h.db, h.handles.handle(), "bob", false);
      await exec(next, "INSERT INTO t (x) VALUES (5)");
      expect(await h.committedRows()).toEqual([5n]);
    });
  });
}
