import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteError } from "@hranad/driver";
import { ManualClock, SessionStore, TransactionAbortedError, type Session } from "../src/index.js";
import { closeEverything, DRIVERS, exec, makeHarness, rejection, type Harness } from "./support.js";

/** Runs until the statement deadline interrupts it, writing nothing: an INSERT, so SQLite rolls back the transaction. */
const ENDLESS_INSERT =
  "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) INSERT INTO t (y) SELECT 'v' FROM c WHERE i < 0";
/** Same, but a SELECT: an interrupt leaves the transaction open. */
const ENDLESS_SELECT = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c";

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`transactions the server ends vs the client ends, on ${name}`, () => {
    let h: Harness;
    let store: SessionStore;

    beforeEach(async () => {
      h = await makeHarness(driver!, { statementTimeoutMs: 1000 });
      store = new SessionStore();
    });
    afterEach(async () => {
      await closeEverything(store);
      await h.cleanup();
    });

    const openInTransaction = async (): Promise<Session> => {
      const session = await store.open(h.db, () => {}, "alice", false);
      await exec(session, "BEGIN");
      await exec(session, "INSERT INTO t (x) VALUES (1)");
      return session;
    };

    it("a client ROLLBACK keeps SQLite's semantics: the stream goes on in autocommit, a later COMMIT fails", async () => {
      const session = await openInTransaction();
      await exec(session, "ROLLBACK");
      expect(session.poisoned).toBeUndefined();
      expect(await session.connection.isAutocommit()).toBe(true);
      await exec(session, "INSERT INTO t (x) VALUES (2)");
      expect(await h.committedRows()).toEqual([2n]);
      const commit = await rejection(exec(session, "COMMIT"));
      expect(commit).toBeInstanceOf(SqliteError);
      expect((commit as Error).message).toMatch(/no transaction is active/);
    });

    it("INSERT OR ROLLBACK is a rollback the client asked for: no poisoning", async () => {
      const session = await openInTransaction();
      const error = await rejection(exec(session, "INSERT OR ROLLBACK INTO t (x) VALUES (1)"));
      expect(error).toMatchObject({ code: "SQLITE_CONSTRAINT" });
      expect(session.poisoned).toBeUndefined();
      expect(session.connection.autocommit).toBe(true);
      await exec(session, "INSERT INTO t (x) VALUES (5)");
      await expect(exec(session, "COMMIT")).rejects.toBeInstanceOf(SqliteError);
      expect(await h.committedRows()).toEqual([5n]);
    });

    it.runIf(driver?.capabilities.statementDeadline)(
      "an interrupted SELECT leaves the transaction open and the session healthy",
      async () => {
        const session = await openInTransaction();
        await expect(exec(session, ENDLESS_SELECT)).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
        expect(session.poisoned).toBeUndefined();
        expect(await session.connection.isAutocommit()).toBe(false);
        await exec(session, "COMMIT");
        expect(await h.committedRows()).toEqual([1n]);
      },
    );

    it.runIf(driver?.capabilities.statementDeadline)(
      "a deadline that ends the transaction poisons the session: every later request fails with TRANSACTION_ABORTED",
      async () => {
        const session = await openInTransaction();
        await expect(exec(session, ENDLESS_INSERT)).rejects.toMatchObject({ code: "SQLITE_INTERRUPT" });
        expect(session.poisoned).toMatchObject({ code: "TRANSACTION_ABORTED" });
        const baton = store.baton(session);

        store.resume(baton, "main", "alice"); // the next request: resumes, but nothing runs
        const refused = await rejection(exec(session, "INSERT INTO t (x) VALUES (2)"));
        expect(refused).toBeInstanceOf(TransactionAbortedError);
        expect(refused).toMatchObject({ code: "TRANSACTION_ABORTED" });
        await expect(session.connection.isAutocommit()).rejects.toBeInstanceOf(TransactionAbortedError);
        await expect(exec(session, "COMMIT")).rejects.toBeInstanceOf(TransactionAbortedError);
        expect(session.connection.autocommit).toBe(false); // still "in a (failed) transaction" for the client
        expect(store.list()[0]).toMatchObject({ poisoned: "TRANSACTION_ABORTED", inTransaction: true });
        expect(await h.committedRows()).toEqual([]);

        await store.close(session);
        expect(h.pool.stats().inUse).toBe(0);
      },
    );

    it("rolls back and poisons an idle session whose transaction outlived transactionTimeoutMs", async () => {
      const clock = new ManualClock();
      const timed = new SessionStore({ clock, transactionTimeoutMs: 3000, idleTimeoutMs: 60_000 });
      const stop = new AbortController();
      const stopped = timed.startReaper(100, stop.signal);
      try {
        const session = await timed.open(h.db, () => {}, "alice", false);
        await exec(session, "BEGIN");
        await exec(session, "INSERT INTO t (x) VALUES (1)");
        const baton = timed.baton(session);
        clock.advance(2999);
        await timed.settled();
        expect(session.poisoned).toBeUndefined();
        clock.advance(1);
        expect(session.poisoned).toMatchObject({ code: "TRANSACTION_TIMEOUT" });
        await timed.settled();
        expect(await h.committedRows()).toEqual([]);
        expect(timed.count()).toBe(1); // the session stays until closed or reaped

        timed.resume(baton, "main", "alice");
        const error = await rejection(exec(session, "INSERT INTO t (x) VALUES (2)"));
        expect(error).toBeInstanceOf(TransactionAbortedError);
        expect(error).toMatchObject({ code: "TRANSACTION_TIMEOUT" });
        await timed.close(session);
        expect(h.pool.stats().inUse).toBe(0);
      } finally {
        stop.abort();
        await stopped;
      }
    });

    it("does not time out a transaction committed in time, nor one whose request is still running", async () => {
      const clock = new ManualClock();
      const timed = new SessionStore({ clock, transactionTimeoutMs: 3000, idleTimeoutMs: 60_000 });
      const stop = new AbortController();
      const stopped = timed.startReaper(100, stop.signal);
      try {
        const quick = await timed.open(h.db, () => {}, "alice", false);
        await exec(quick, "BEGIN");
        let baton = timed.baton(quick);
        clock.advance(1000);
        timed.resume(baton, "main", "alice");
        await exec(quick, "INSERT INTO t (x) VALUES (7)");
        await exec(quick, "COMMIT");
        baton = timed.baton(quick);
        clock.advance(10_000);
        await timed.settled();
        expect(quick.poisoned).toBeUndefined();

        const slow = await timed.open(h.db, () => {}, "alice", false);
        await exec(slow, "BEGIN");
        await exec(slow, "INSERT INTO t (x) VALUES (8)");
        clock.advance(5000); // busy: skipped
        await timed.settled();
        expect(slow.poisoned).toBeUndefined();
        timed.baton(slow); // idle now, and over its transaction limit
        clock.advance(100);
        expect(slow.poisoned).toMatchObject({ code: "TRANSACTION_TIMEOUT" });
        await timed.settled();
        expect(await h.committedRows()).toEqual([7n]);
      } finally {
        stop.abort();
        await stopped;
      }
    });
  });
}
