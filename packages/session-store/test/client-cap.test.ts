import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DriverError } from "@hranad/driver";
import {
  ManualClock,
  SessionStore,
  TooManyClientSessionsError,
  TooManySessionsError,
  type Session,
  type StoreOptions,
} from "../src/index.js";
import { closeEverything, DRIVERS, exec, makeHarness, rejection, type Harness } from "./support.js";

it("defaults the per-client cap to a quarter of the per-database cap, at least 1, never above it", () => {
  expect(new SessionStore().maxSessionsPerClient).toBe(16);
  expect(new SessionStore({ maxSessionsPerDatabase: 128 }).maxSessionsPerClient).toBe(32);
  expect(new SessionStore({ maxSessionsPerDatabase: 3 }).maxSessionsPerClient).toBe(1);
  expect(new SessionStore({ maxSessionsPerDatabase: 8, maxSessionsPerClient: 0 }).maxSessionsPerClient).toBe(2);
  expect(new SessionStore({ maxSessionsPerDatabase: 8, maxSessionsPerClient: 5 }).maxSessionsPerClient).toBe(5);
  expect(new SessionStore({ maxSessionsPerDatabase: 8, maxSessionsPerClient: 50 }).maxSessionsPerClient).toBe(8);
});

it("names the limit and how to raise it", () => {
  const error = new TooManyClientSessionsError("main", 3);
  expect(error).toMatchObject({ code: "TOO_MANY_CLIENT_SESSIONS", name: "TooManyClientSessionsError", limit: 3 });
  expect(error.message).toContain("limit 3 per client");
  expect(error.message).toContain("limits.maxSessionsPerClient");
  expect(error.message).not.toContain("main");
});

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`per-client cap on ${name}`, () => {
    let h: Harness;
    let store: SessionStore;
    let clock: ManualClock;
    let stopReaper: AbortController | undefined;
    let reaperStopped: Promise<void> | undefined;

    const make = (options: StoreOptions = {}) => {
      store = new SessionStore({ clock, maxSessionsPerDatabase: 8, maxSessionsPerClient: 2, ...options });
      return store;
    };
    const open = (client: string | undefined, db = h.db, signal?: AbortSignal) =>
      store.open(db, h.handles.handle(), "anonymous", false, signal, client === undefined ? {} : { client });
    /** Opens a session in a transaction and hands out its baton: an idle stream that holds its connection. */
    const openInTransaction = async (client: string) => {
      const session = await open(client);
      await exec(session, "BEGIN");
      await exec(session, "SELECT 1");
      store.baton(session);
      return session;
    };
    /** Sessions of `client` on main as the cap counts them, once every teardown has finished. */
    const slots = async (client: string) => {
      await store.settled();
      return store.count("main", client);
    };

    beforeEach(async () => {
      h = await makeHarness(driver!, { maxConnections: 8 });
      clock = new ManualClock(0);
    });
    afterEach(async () => {
      stopReaper?.abort();
      await reaperStopped;
      stopReaper = undefined;
      reaperStopped = undefined;
      await closeEverything(store);
      await h.cleanup();
    });

    it("refuses a client past its cap with TOO_MANY_CLIENT_SESSIONS while another client still opens", async () => {
      make();
      await openInTransaction("10.0.0.1");
      await openInTransaction("10.0.0.1");
      const refused = await rejection(open("10.0.0.1"));
      expect(refused).toBeInstanceOf(TooManyClientSessionsError);
      expect(refused).toMatchObject({ code: "TOO_MANY_CLIENT_SESSIONS", limit: 2 });
      expect(h.handles.released).toBe(1); // the refused open gave its handle back
      expect(h.pool.stats().inUse).toBe(2); // and took no connection
      const other = await openInTransaction("10.0.0.2");
      expect(other.endReason).toBeUndefined();
      expect(store.count("main", "10.0.0.1")).toBe(2);
      expect(store.count("main", "10.0.0.2")).toBe(1);
      expect(store.count("main")).toBe(3);
      expect(store.list().map((info) => info.client)).toEqual(["10.0.0.1", "10.0.0.1", "10.0.0.2"]);
    });

    it("counts per (client, database): the same client opens on another database", async () => {
      make();
      const other = { name: "other", pool: h.pool };
      await open("10.0.0.1");
      await open("10.0.0.1");
      await expect(open("10.0.0.1")).rejects.toBeInstanceOf(TooManyClientSessionsError);
      const elsewhere = await open("10.0.0.1", other);
      expect(elsewhere.database).toBe("other");
      expect(store.count("other", "10.0.0.1")).toBe(1);
    });

    it("still applies the per-database cap to clients under their own cap", async () => {
      make({ maxSessionsPerDatabase: 3 });
      await open("a");
      await open("a");
      await open("b");
      await expect(open("c")).rejects.toBeInstanceOf(TooManySessionsError);
      // a client at its own cap is told about its own limit, even on a full database
      await expect(open("a")).rejects.toBeInstanceOf(TooManyClientSessionsError);
    });

    it("does not count sessions opened without a client key per client", async () => {
      make();
      for (let i = 0; i < 4; i++) await open(undefined);
      expect(store.count("main")).toBe(4);
      await open("a");
      await open("a");
      expect(store.count("main", "a")).toBe(2);
    });

    it("frees the slot when the session is closed", async () => {
      make();
      const a = await openInTransaction("a");
      await openInTransaction("a");
      await store.close(a);
      expect(await slots("a")).toBe(1);
      await openInTransaction("a");
      expect(await slots("a")).toBe(2);
    });

    it("frees the slot when the session expires or outlives its lifetime", async () => {
      make({ idleTimeoutMs: 2000, maxLifetimeMs: 3000 });
      stopReaper = new AbortController();
      reaperStopped = store.startReaper(1000, stopReaper.signal);
      await openInTransaction("a");
      const busy = await open("a"); // busy: not reaped while idle time passes
      clock.advance(2000);
      expect(await slots("a")).toBe(1);
      const next = await open("a");
      expect(next.endReason).toBeUndefined();
      store.baton(busy);
      store.baton(next);
      clock.advance(3000); // past the lifetime of `busy` (3 s), and `next` idle past its timeout
      expect(await slots("a")).toBe(0);
      expect(busy.endReason).toBe("lifetime");
      expect(h.pool.stats().inUse).toBe(0);
    });

    it("frees the slot when the session is killed or terminated, also with a request in flight", async () => {
      make();
      const killed = await openInTransaction("a");
      const stalled = await open("a");
      // Bounded, so that the test cannot hang if the interrupt lands before the statement starts.
      const running = exec(stalled, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000000) SELECT count(*) FROM c");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await store.kill(killed.id)).toBe("killed");
      expect(await slots("a")).toBe(1);
      await store.terminate(stalled, "stalled");
      await running.catch(() => undefined);
      expect(await slots("a")).toBe(0);
      expect(h.pool.stats().inUse).toBe(0);
      await open("a");
      await open("a");
    });

    it("frees the slots at closeAll, a busy session's when its request ends", async () => {
      make();
      await openInTransaction("a");
      const busy = await open("a");
      const closing = store.closeAll();
      await closing;
      expect(await slots("a")).toBe(1);
      store.markIdle(busy);
      expect(await slots("a")).toBe(0);
    });

    it("frees the slot when the open fails: acquire aborted, pool closed", async () => {
      const small = await makeHarness(driver!, { maxConnections: 1, acquireTimeoutMs: 10_000, name: "small" });
      try {
        make();
        const first = await store.open(small.db, small.handles.handle(), null, false, undefined, { client: "a" });
        const abort = new AbortController();
        const waiting = store.open(small.db, small.handles.handle(), null, false, abort.signal, { client: "a" });
        await expect.poll(() => small.pool.stats().waiting).toBe(1);
        expect(store.count("small", "a")).toBe(2);
        abort.abort();
        expect(await rejection(waiting)).toBeInstanceOf(DriverError);
        expect(store.count("small", "a")).toBe(1);
        await store.close(first);
        await small.pool.close();
        expect(await rejection(store.open(small.db, small.handles.handle(), null, false, undefined, { client: "a" }))).toMatchObject({
          code: "POOL_CLOSED",
        });
        expect(store.count("small", "a")).toBe(0);
        expect(small.handles.released).toBe(3);
      } finally {
        await store.settled();
        await small.cleanup();
      }
    });

    it("never lets a client's slots drift from its live sessions over random opens and ends", async () => {
      make({ maxSessionsPerDatabase: 6, maxSessionsPerClient: 3 });
      const clients = ["a", "b", "c"];
      const live: { session: Session; client: string }[] = [];
      let seed = 7;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let step = 0; step < 120; step++) {
        const client = clients[random(clients.length)]!;
        const action = random(5);
        if (action <= 1) {
          const mine = live.filter((entry) => entry.client === client).length;
          if (mine >= 3) await expect(open(client)).rejects.toBeInstanceOf(TooManyClientSessionsError);
          else if (live.length >= 6) await expect(open(client)).rejects.toBeInstanceOf(TooManySessionsError);
          else {
            const session = await open(client);
            if (random(2) === 0) await exec(session, "BEGIN");
            store.baton(session);
            live.push({ session, client });
          }
        } else if (live.length > 0) {
          const [entry] = live.splice(random(live.length), 1);
          if (action === 2) await store.close(entry!.session);
          else if (action === 3) await store.kill(entry!.session.id);
          else await store.terminate(entry!.session, "stalled");
        }
        await store.settled();
        for (const c of clients) expect(store.count("main", c)).toBe(live.filter((entry) => entry.client === c).length);
        expect(store.count("main")).toBe(live.length);
      }
    });
  });
}
