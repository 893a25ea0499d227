import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BatonSigner } from "@hranad/baton";
import { DriverError, SqliteError } from "@hranad/driver";
import {
  BadBatonError,
  PrincipalMismatchError,
  SessionStore,
  TooManySessionsError,
  type Session,
} from "../src/index.js";
import { closeEverything, DRIVERS, exec, makeHarness, rejection, thrown, type Harness } from "./support.js";

it("loads the better-sqlite3 driver (the core suite must run on at least one real driver)", () => {
  const loaded = DRIVERS.filter((d) => d.driver !== undefined).map((d) => d.name);
  expect(loaded).toContain("better-sqlite3");
});

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`SessionStore on ${name}`, () => {
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

    const open = (principal: string | null = "alice", readOnly = false) =>
      store.open(h.db, h.handles.handle(), principal, readOnly);

    it("pins one connection across requests and rotates the baton on every response", async () => {
      const session = await open();
      expect(session.busy).toBe(true);
      expect(session.database).toBe("main");
      expect(session.principal).toBe("alice");
      await exec(session, "CREATE TEMP TABLE pinned (v)"); // a TEMP table lives on one connection only
      const first = store.baton(session);
      expect(session.busy).toBe(false);

      const again = store.resume(first, "main", "alice");
      expect(again).toBe(session);
      expect(again.busy).toBe(true);
      await exec(again, "INSERT INTO pinned VALUES (1)");
      const second = store.baton(again);
      expect(second).not.toBe(first);
      expect(h.pool.stats().inUse).toBe(1);
    });

    it("refuses a replayed baton and keeps the current one working", async () => {
      const session = await open();
      const b0 = store.baton(session);
      store.resume(b0, "main", "alice");
      const b1 = store.baton(session);
      const replay = thrown(() => store.resume(b0, "main", "alice"));
      expect(replay).toBeInstanceOf(BadBatonError);
      expect(replay).toMatchObject({ code: "BATON_REUSED" });
      expect(store.resume(b1, "main", "alice")).toBe(session);
    });

    it("lets only the first of two concurrent requests with the same baton through", async () => {
      const session = await open();
      const baton = store.baton(session);
      const results = await Promise.allSettled([
        Promise.resolve().then(() => store.resume(baton, "main", "alice")),
        Promise.resolve().then(() => store.resume(baton, "main", "alice")),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: "BATON_REUSED" });
    });

    it("refuses a baton presented for another database without consuming it", async () => {
      const session = await open();
      const baton = store.baton(session);
      expect(thrown(() => store.resume(baton, "other", "alice"))).toMatchObject({ code: "BATON_DATABASE_MISMATCH" });
      expect(store.resume(baton, "main", "alice")).toBe(session);
    });

    it("refuses a baton presented by another principal without consuming it", async () => {
      const session = await open();
      const baton = store.baton(session);
      const error = thrown(() => store.resume(baton, "main", "mallory"));
      expect(error).toBeInstanceOf(PrincipalMismatchError);
      expect(error).toMatchObject({ code: "BATON_PRINCIPAL_MISMATCH" });
      expect(store.resume(baton, "main", "alice")).toBe(session);
    });

    it("answers forged, malformed and foreign batons with the generic BATON_INVALID", async () => {
      const session = await open();
      const baton = store.baton(session);
      const flipped = baton.slice(0, -2) + (baton.at(-2) === "A" ? "B" : "A") + baton.at(-1);
      const foreignStore = new SessionStore();
      const foreignSession = await foreignStore.open(h.db, () => {}, "alice", false);
      const foreign = foreignStore.peekBaton(foreignSession);
      await foreignStore.close(foreignSession);
      for (const bad of [flipped, "not a baton", "", baton + "A", foreign]) {
        const error = thrown(() => store.resume(bad, "main", "alice"));
        expect(error).toBeInstanceOf(BadBatonError);
        expect(error).toMatchObject({ code: "BATON_INVALID", message: "Received an invalid baton" });
      }
      expect(store.resume(baton, "main", "alice")).toBe(session);
    });

    it("answers an authentic baton of an unknown session with STREAM_NOT_FOUND", () => {
      const key = new Uint8Array(32).fill(7);
      const signer = new BatonSigner({ key, epoch: 1 });
      const keyed = new SessionStore({ signer });
      const unknown = signer.mint(new Uint8Array(16).fill(9), 0n);
      expect(thrown(() => keyed.resume(unknown, "main", "alice"))).toMatchObject({
        code: "STREAM_NOT_FOUND",
      });
    });

    it("reserves the per-database slot before the pool: the cap refuses while the pool makes callers wait", async () => {
      const pooled = await makeHarness(driver!, { maxConnections: 1, acquireTimeoutMs: 10_000 });
      const capped = new SessionStore({ maxSessionsPerDatabase: 2 });
      try {
        const first = await capped.open(pooled.db, pooled.handles.handle(), "alice", false);
        const second = capped.open(pooled.db, pooled.handles.handle(), "alice", false);
        await expect.poll(() => pooled.pool.stats().waiting).toBe(1);
        const third = await rejection(capped.open(pooled.db, pooled.handles.handle(), "alice", false));
        expect(third).toBeInstanceOf(TooManySessionsError);
        expect(third).toMatchObject({ code: "TOO_MANY_SESSIONS" });
        expect(pooled.handles.released).toBe(1); // the refused open gave its handle back
        expect(pooled.pool.stats().waiting).toBe(1); // and never queued on the pool

        await capped.close(first);
        const secondSession = await second;
        expect(capped.count("main")).toBe(1);
        await capped.close(secondSession);
        expect(pooled.handles.released).toBe(3);
        expect(capped.count("main")).toBe(0);
      } finally {
        await capped.closeAll();
        await pooled.cleanup();
      }
    });

    it("releases the slot and the handle when acquiring the connection aborts", async () => {
      const pooled = await makeHarness(driver!, { maxConnections: 1, acquireTimeoutMs: 10_000 });
      const capped = new SessionStore({ maxSessionsPerDatabase: 2 });
      try {
        const first = await capped.open(pooled.db, pooled.handles.handle(), "alice", false);
        const abort = new AbortController();
        const waiting = capped.open(pooled.db, pooled.handles.handle(), "alice", false, abort.signal);
        await expect.poll(() => pooled.pool.stats().waiting).toBe(1);
        expect(capped.count("main")).toBe(2);
        abort.abort();
        const error = await rejection(waiting);
        expect(error).toBeInstanceOf(DriverError);
        expect(capped.count("main")).toBe(1);
        expect(pooled.handles.released).toBe(1);
        await capped.close(first);
        expect(pooled.pool.stats()).toMatchObject({ inUse: 0, waiting: 0 });
      } finally {
        await capped.closeAll();
        await pooled.cleanup();
      }
    });

    it("releases the slot and the handle when the pool is closed", async () => {
      const pooled = await makeHarness(driver!);
      await pooled.pool.close();
      const error = await rejection(store.open(pooled.db, pooled.handles.handle(), "alice", false));
      expect(error).toMatchObject({ code: "POOL_CLOSED" });
      expect(store.count("main")).toBe(0);
      expect(pooled.handles.released).toBe(1);
      await pooled.cleanup();
    });

    it("counts the cap per database", async () => {
      const capped = new SessionStore({ maxSessionsPerDatabase: 1 });
      const other = { name: "other", pool: h.pool };
      const a = await capped.open(h.db, () => {}, "alice", false);
      const b = await capped.open(other, () => {}, "alice", false);
      await expect(capped.open(h.db, () => {}, "alice", false)).rejects.toBeInstanceOf(TooManySessionsError);
      expect(capped.count()).toBe(2);
      await capped.close(a);
      await capped.close(b);
    });

    it("rolls back an open transaction on close, returns the connection, then drops the handle", async () => {
      await h.committedRows();
      const session = await open();
      await exec(session, "BEGIN");
      await exec(session, "INSERT INTO t (x) VALUES (1)");
      store.baton(session);
      await store.close(session);
      expect(await h.committedRows()).toEqual([]);
      expect(h.pool.stats().inUse).toBe(0);
      expect(h.handles.released).toBe(1);
      expect(h.handles.inUseAtRelease).toEqual([0]);
      expect(store.count()).toBe(0);
      // and the released connection is clean for the next user
      const next = await open();
      expect(await next.connection.isAutocommit()).toBe(true);
      await exec(next, "INSERT INTO t (x) VALUES (2)");
      expect(await h.committedRows()).toEqual([2n]);
    });

    it("closes idempotently, and a closed session's connection refuses every call", async () => {
      const session = await open();
      const baton = store.baton(session);
      await Promise.all([store.close(session), store.close(session)]);
      await store.close(session);
      expect(h.handles.released).toBe(1);
      expect(session.endReason).toBe("closed");
      expect(session.signal.aborted).toBe(true);
      const error = await rejection(exec(session, "SELECT 1"));
      expect(error).toMatchObject({ code: "CONNECTION_CLOSED" });
      expect(thrown(() => store.resume(baton, "main", "alice"))).toMatchObject({ code: "STREAM_CLOSED" });
    });

    it("closes a cursor left open when the session ends, rolls back, and refuses the cursor afterwards", async () => {
      const session = await open();
      await exec(session, "BEGIN");
      await exec(session, "INSERT INTO t (x) VALUES (1), (2), (3)");
      const cursor = await session.connection.openCursor({ sql: "SELECT x FROM t ORDER BY x" });
      const page = await cursor.next(2);
      expect(page.rows.map((row) => row[0])).toEqual([1n, 2n]);
      expect(page.done).toBe(false);
      await store.close(session);
      expect(await h.committedRows()).toEqual([]);
      expect(h.pool.stats().inUse).toBe(0);
      await expect(cursor.next(2)).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
    });

    it("reads a cursor to its end through the guarded connection", async () => {
      const session = await open();
      await exec(session, "INSERT INTO t (x) VALUES (1), (2), (3)");
      const cursor = await session.connection.openCursor({ sql: "SELECT x FROM t ORDER BY x" });
      const rows = [];
      for (;;) {
        const page = await cursor.next(2);
        rows.push(...page.rows.map((row) => row[0]));
        if (page.done) break;
      }
      await cursor.close();
      expect(rows).toEqual([1n, 2n, 3n]);
      expect(session.connection.autocommit).toBe(true);
      await exec(session, "SELECT 1"); // the connection is free for the next statement
    });

    it("lets the request that holds a busy session close it (the pipeline's close request)", async () => {
      const session = await open();
      const baton = store.baton(session);
      store.resume(baton, "main", "alice");
      expect(session.busy).toBe(true);
      await store.close(session);
      expect(store.count()).toBe(0);
      expect(h.pool.stats().inUse).toBe(0);
    });

    it("peekBaton hands out the current baton without clearing busy; baton() then keeps it current", async () => {
      const session = await open();
      const peeked = store.peekBaton(session);
      expect(session.busy).toBe(true);
      expect(thrown(() => store.resume(peeked, "main", "alice"))).toMatchObject({ code: "STREAM_BUSY" });
      const final = store.baton(session);
      expect(final).toBe(peeked);
      expect(store.resume(peeked, "main", "alice")).toBe(session);
      expect(thrown(() => store.resume(peeked, "main", "alice"))).toMatchObject({ code: "BATON_REUSED" });
    });

    it("kill: not-found, killed (an idle session: rolled back, returned, its baton refused)", async () => {
      expect(await store.kill("AAAAAAAAAAAAAAAAAAAAAA")).toBe("not-found");
      const session = await open();
      await exec(session, "BEGIN");
      await exec(session, "INSERT INTO t (x) VALUES (1)");
      const baton = store.baton(session);
      expect(await store.kill(session.id)).toBe("killed");
      expect(await h.committedRows()).toEqual([]);
      expect(h.pool.stats().inUse).toBe(0);
      expect(h.handles.released).toBe(1);
      expect(thrown(() => store.resume(baton, "main", "alice"))).toMatchObject({ code: "STREAM_KILLED" });
      expect(await store.kill(session.id)).toBe("not-found");
    });

    it("kill of a busy session ends it at once: its signal aborts, its connection refuses calls, the request's baton fails", async () => {
      const session = await open();
      await exec(session, "BEGIN");
      await exec(session, "INSERT INTO t (x) VALUES (1)");
      // Still busy: no baton handed out for this request yet.
      expect(session.busy).toBe(true);
      expect(await store.kill(session.id)).toBe("killed");
      expect(session.signal.aborted).toBe(true);
      expect(session.signal.reason).toBe("killed");
      await expect(session.connection.execute({ sql: "SELECT 1" })).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
      expect(thrown(() => store.baton(session))).toMatchObject({ code: "STREAM_KILLED" });
      expect(await h.committedRows()).toEqual([]);
      expect(h.pool.stats().inUse).toBe(0);
      expect(store.count()).toBe(0);
    });

    it("terminate(stalled) ends a busy session and its baton says STREAM_STALLED", async () => {
      const session = await open();
      const baton = store.peekBaton(session);
      await store.terminate(session, "stalled");
      expect(thrown(() => store.resume(baton, "main", "alice"))).toMatchObject({ code: "STREAM_STALLED" });
      expect(h.pool.stats().inUse).toBe(0);
      await store.terminate(session, "stalled"); // idempotent
    });

    it("closeAll waits for idle sessions to be rolled back and returned, and skips a busy one until it finishes", async () => {
      const idle1 = await open("alice");
      const idle2 = await open("bob");
      const busy = await open("carol");
      await exec(idle1, "BEGIN");
      await exec(idle1, "INSERT INTO t (x) VALUES (1)");
      await exec(busy, "BEGIN");
      await exec(busy, "SELECT count(*) FROM t"); // a read transaction: idle1 holds the write lock
      const idleBaton = store.baton(idle1);
      store.baton(idle2);

      await store.closeAll();
      expect(h.pool.stats().inUse).toBe(1); // only the busy session's connection is still out
      expect(h.handles.released).toBe(2);
      expect(store.list().map((s) => s.id)).toEqual([busy.id]);
      expect(thrown(() => store.resume(idleBaton, "main", "alice"))).toMatchObject({
        code: "SERVER_SHUTTING_DOWN",
      });
      // the busy request is untouched: its transaction is still open and usable
      expect(await busy.connection.isAutocommit()).toBe(false);
      await exec(busy, "INSERT INTO t (x) VALUES (4)");

      // when its request finishes, it is torn down
      const lastBaton = store.baton(busy);
      await store.settled();
      expect(h.pool.stats().inUse).toBe(0);
      expect(h.handles.released).toBe(3);
      expect(store.count()).toBe(0);
      expect(await h.committedRows()).toEqual([]);
      expect(thrown(() => store.resume(lastBaton, "main", "carol"))).toMatchObject({ code: "SERVER_SHUTTING_DOWN" });
    });

    it("lists live sessions with a database filter", async () => {
      const other = { name: "other", pool: h.pool };
      const a = await open("alice");
      const b = await store.open(other, () => {}, "bob", true);
      store.baton(a);
      const all = store.list();
      expect(all).toHaveLength(2);
      const mine = store.list((database) => database === "main");
      expect(mine).toEqual([
        {
          id: a.id,
          database: "main",
          principal: "alice",
          client: null,
          readOnly: false,
          busy: false,
          ageMs: expect.any(Number),
          idleForMs: expect.any(Number),
          inTransaction: false,
          holdsConnection: expect.any(Boolean),
          poisoned: null,
        },
      ]);
      expect(store.list((database) => database === "other")[0]).toMatchObject({ id: b.id, readOnly: true, busy: true });
      expect(store.get(a.id)).toBe(a);
      expect(store.count("main")).toBe(1);
      expect(store.count("other")).toBe(1);
    });

    it("keeps a server-side SQL cache per session", async () => {
      const session: Session = await open();
      const executorView: {
        storeSql(id: number, sql: string): void;
        lookupSql(id: number): string | undefined;
        dropSql(id: number): void;
        readonly sqlCount: number;
      } = session;
      executorView.storeSql(1, "SELECT 1");
      executorView.storeSql(2, "SELECT 2");
      expect(executorView.sqlCount).toBe(2);
      expect(executorView.lookupSql(1)).toBe("SELECT 1");
      executorView.dropSql(1);
      expect(executorView.lookupSql(1)).toBeUndefined();
      expect(executorView.sqlCount).toBe(1);
      const other = await open();
      expect(other.lookupSql(2)).toBeUndefined();
    });

    it.runIf(driver?.capabilities.readOnlyGuard)(
      "puts a read-only session's connection in read-only mode for its whole life, and restores it on close",
      async () => {
        const single = await makeHarness(driver!, { maxConnections: 1 });
        try {
          const reader = await store.open(single.db, () => {}, "alice", true);
          expect(reader.readOnly).toBe(true);
          expect(reader.connection.readOnly).toBe(true);
          // refused inside SQLite by the engine guard (SQLITE_AUTH from its authorizer)
          await expect(exec(reader, "INSERT INTO t (x) VALUES (1)")).rejects.toBeInstanceOf(SqliteError);
          await expect(reader.connection.setReadOnly(false)).rejects.toBeInstanceOf(DriverError);
          await expect(exec(reader, "SELECT count(*) FROM t")).resolves.toBeDefined();
          store.baton(reader);
          await store.close(reader);
          // the same (only) pooled connection is writable again for the next session
          const writer = await store.open(single.db, () => {}, "alice", false);
          expect(writer.connection.readOnly).toBe(false);
          await exec(writer, "INSERT INTO t (x) VALUES (1)");
          await store.close(writer);
          expect(await single.committedRows()).toEqual([1n]);
        } finally {
          await closeEverything(store);
          await single.cleanup();
        }
      },
    );

    it("treats zero or negative limits as the safe defaults", () => {
      const defaults = new SessionStore({
        idleTimeoutMs: 0,
        maxLifetimeMs: -5,
        maxSessionsPerDatabase: 0,
        transactionTimeoutMs: -1,
      });
      expect(defaults.idleTimeoutMs).toBe(10_000);
      expect(defaults.maxLifetimeMs).toBe(3_600_000);
      expect(defaults.maxSessionsPerDatabase).toBe(64);
      expect(defaults.transactionTimeoutMs).toBe(0);
    });

    it("reaps on the real clock too (system timers)", async () => {
      const real = new SessionStore({ idleTimeoutMs: 200 });
      const stop = new AbortController();
      const stopped = real.startReaper(50, stop.signal);
      const session = await real.open(h.db, h.handles.handle(), "alice", false);
      const baton = real.baton(session);
      await expect.poll(() => session.endReason, { timeout: 5000 }).toBe("expired");
      await real.settled();
      expect(h.pool.stats().inUse).toBe(0);
      expect(thrown(() => real.resume(baton, "main", "alice"))).toMatchObject({ code: "STREAM_EXPIRED" });
      stop.abort();
      await stopped;
    });

    it("a WebSocket-style session (no baton) is marked busy and idle explicitly", async () => {
      const session = await store.open(h.db, () => {}, "alice", false, undefined, { expires: false });
      store.markIdle(session);
      expect(session.busy).toBe(false);
      store.markBusy(session);
      expect(thrown(() => store.markBusy(session))).toMatchObject({ code: "STREAM_BUSY" });
      store.markIdle(session);
      expect(await store.kill(session.id)).toBe("killed");
      expect(session.signal.aborted).toBe(true);
      expect(session.signal.reason).toBe("killed");
    });
  });
}
