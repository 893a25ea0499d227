import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BatonSigner } from "@hranad/baton";
import { BadBatonError, ManualClock, SessionStore, type StoreOptions } from "../src/index.js";
import { DRIVERS, exec, makeHarness, thrown, type Harness } from "./support.js";

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`expiry and tombstones on ${name}`, () => {
    let h: Harness;
    let clock: ManualClock;
    let store: SessionStore;
    let stopReaper: AbortController;
    let reaperStopped: Promise<void>;

    const start = (options: StoreOptions = {}, intervalMs = 1000) => {
      store = new SessionStore({ clock, idleTimeoutMs: 2000, ...options });
      stopReaper = new AbortController();
      reaperStopped = store.startReaper(intervalMs, stopReaper.signal);
    };

    beforeEach(async () => {
      h = await makeHarness(driver!);
      clock = new ManualClock(0);
    });
    afterEach(async () => {
      stopReaper.abort();
      await reaperStopped;
      await store.settled();
      await h.cleanup();
    });

    const open = (principal = "alice") => store.open(h.db, h.handles.handle(), principal, false);
    /** Advances the clock and waits for the teardowns it started. */
    const advance = async (ms: number) => {
      clock.advance(ms);
      await store.settled();
    };

    it("reaps an idle session at its deadline, not at a coarse tick, and says why", async () => {
      start();
      const session = await open();
      const baton = store.baton(session);
      await advance(1999);
      expect(store.count()).toBe(1);
      await advance(1);
      expect(session.endReason).toBe("expired");
      expect(store.count()).toBe(0);
      expect(h.pool.stats().inUse).toBe(0);
      expect(h.handles.released).toBe(1);
      const error = thrown(() => store.resume(baton, "main", "alice"));
      expect(error).toBeInstanceOf(BadBatonError);
      expect(error).toMatchObject({ code: "STREAM_EXPIRED" });
      expect((error as Error).message).toContain("idle for 2 s");
    });

    it("every request refreshes the idle clock; expiry lands within one interval of the new deadline", async () => {
      start({ idleTimeoutMs: 2000 }, 250);
      const session = await open();
      let baton = store.baton(session);
      await advance(1500);
      store.resume(baton, "main", "alice");
      baton = store.baton(session); // idle from t=1500: deadline 3500
      await advance(1999); // t=3499
      expect(store.count()).toBe(1);
      await advance(1); // t=3500, a multiple of the 250 ms interval
      expect(session.endReason).toBe("expired");
    });

    it("rolls back the reaped session's open transaction", async () => {
      start();
      const session = await open();
      await exec(session, "BEGIN");
      await exec(session, "INSERT INTO t (x) VALUES (1)");
      store.baton(session);
      await advance(2000);
      expect(session.endReason).toBe("expired");
      expect(await h.committedRows()).toEqual([]);
      expect(h.pool.stats().inUse).toBe(0);
    });

    it("skips a busy session and reaps it only once its request has finished and it idled", async () => {
      start();
      const session = await open(); // busy until baton()
      await advance(10_000);
      expect(session.endReason).toBeUndefined();
      expect(store.list()[0]).toMatchObject({ busy: true, idleForMs: 0 });
      store.baton(session);
      await advance(1999);
      expect(session.endReason).toBeUndefined();
      await advance(1);
      expect(session.endReason).toBe("expired");
    });

    it("reaps a session past its maximum lifetime even while it stays active", async () => {
      start({ idleTimeoutMs: 2000, maxLifetimeMs: 5000 });
      const session = await open();
      let baton = store.baton(session);
      for (let t = 1000; t < 5000; t += 1000) {
        await advance(1000);
        store.resume(baton, "main", "alice");
        baton = store.baton(session);
      }
      expect(session.endReason).toBeUndefined();
      await advance(1000); // t=5000
      expect(session.endReason).toBe("lifetime");
      expect(thrown(() => store.resume(baton, "main", "alice"))).toMatchObject({
        code: "STREAM_LIFETIME_EXCEEDED",
      });
    });

    it("reaps an over-age session that was busy past its lifetime as soon as its request finishes", async () => {
      start({ idleTimeoutMs: 60_000, maxLifetimeMs: 5000 });
      const session = await open();
      await advance(8000);
      expect(session.endReason).toBeUndefined(); // busy: skipped
      store.baton(session);
      await advance(0);
      expect(session.endReason).toBe("lifetime");
    });

    it("a zero idle timeout means the default (10 s), not 'reap every idle session at each tick'", async () => {
      start({ idleTimeoutMs: 0 });
      const session = await open();
      store.baton(session);
      await advance(1000);
      await advance(1000);
      await advance(7999);
      expect(session.endReason).toBeUndefined();
      await advance(1);
      expect(session.endReason).toBe("expired");
    });

    it("keeps a single timer armed for the earliest deadline, whatever the number of sessions", async () => {
      const wide = await makeHarness(driver!, { maxConnections: 8 });
      try {
        start({ idleTimeoutMs: 2000 }, 100);
        const sessions = [];
        for (let i = 0; i < 8; i++) {
          const session = await store.open(wide.db, () => {}, "alice", false);
          store.baton(session); // idle since 50 * i
          sessions.push(session);
          clock.advance(50);
        }
        expect(clock.pendingTimers).toBe(1);
        await advance(1750); // t=2150: deadlines 2000, 2050, 2100 are due (rounded up to 2000, 2100, 2100)
        expect(sessions.map((s) => s.endReason === "expired")).toEqual([true, true, true, false, false, false, false, false]);
        expect(clock.pendingTimers).toBe(1);
        await advance(1000);
        expect(store.count()).toBe(0);
        expect(clock.pendingTimers).toBe(0);
        expect(wide.pool.stats().inUse).toBe(0);
      } finally {
        stopReaper.abort();
        await reaperStopped;
        await wide.cleanup();
      }
    });

    it("does not expire sessions opened with expires: false (WebSocket streams)", async () => {
      start({ idleTimeoutMs: 2000, maxLifetimeMs: 5000 });
      const session = await store.open(h.db, () => {}, "alice", false, undefined, { expires: false });
      store.markIdle(session);
      await advance(60_000);
      expect(session.endReason).toBeUndefined();
      await store.close(session);
    });

    it("closes everything when the reaper's signal aborts, and reaps nothing after", async () => {
      start();
      const session = await open();
      store.baton(session);
      stopReaper.abort();
      await reaperStopped;
      expect(session.endReason).toBe("shutdown");
      expect(h.pool.stats().inUse).toBe(0);
      const later = await open();
      store.baton(later);
      await advance(60_000);
      expect(later.endReason).toBeUndefined();
      await store.close(later);
    });

    it("names each reason a baton died with its own code", async () => {
      start({ maxLifetimeMs: 5000, idleTimeoutMs: 2000 });
      const codeOf = (baton: string, principal = "alice") => {
        const error = thrown(() => store.resume(baton, "main", principal)) as BadBatonError;
        return error.code;
      };

      const closed = await open();
      const closedBaton = store.baton(closed);
      await store.close(closed);

      const killed = await open();
      const killedBaton = store.baton(killed);
      await store.kill(killed.id);

      const replayed = await open();
      const oldBaton = store.baton(replayed);
      store.resume(oldBaton, "main", "alice");
      store.baton(replayed);
      expect(codeOf(oldBaton)).toBe("BATON_REUSED");

      const expired = await open();
      const expiredBaton = store.baton(expired);
      await advance(2000);

      expect(codeOf(closedBaton)).toBe("STREAM_CLOSED");
      expect(codeOf(killedBaton)).toBe("STREAM_KILLED");
      expect(codeOf(expiredBaton)).toBe("STREAM_EXPIRED");
      expect(codeOf(oldBaton)).toBe("STREAM_EXPIRED"); // the session itself has expired since
      expect(codeOf("x".repeat(82))).toBe("BATON_INVALID");
      // a dead baton still refuses another principal without telling why it died
      expect(codeOf(closedBaton, "mallory")).toBe("BATON_PRINCIPAL_MISMATCH");
      expect(thrown(() => store.resume(closedBaton, "other", "alice"))).toMatchObject({ code: "BATON_DATABASE_MISMATCH" });
    });

    it("says a baton is from before a restart when the signing key persists", async () => {
      const key = new Uint8Array(32).fill(42);
      start({ signer: new BatonSigner({ key, epoch: 1 }) });
      const session = await open();
      const baton = store.baton(session);
      const restarted = new SessionStore({ clock, signer: new BatonSigner({ key, epoch: 2 }) });
      expect(thrown(() => restarted.resume(baton, "main", "alice"))).toMatchObject({
        code: "SERVER_RESTARTED",
      });
      // a key given as bytes: two stores share it, but each boot has its own epoch
      const a = new SessionStore({ signingKey: key });
      const b = new SessionStore({ signingKey: key });
      const other = await a.open(h.db, () => {}, "alice", false);
      const otherBaton = a.baton(other);
      expect(thrown(() => b.resume(otherBaton, "main", "alice"))).toMatchObject({ code: "SERVER_RESTARTED" });
      await a.close(other);
    });

    it("forgets the reason after the tombstone retention, and keeps at most maxTombstones", async () => {
      start({ tombstoneTtlMs: 1000, maxTombstones: 2 });
      const batons: string[] = [];
      for (let i = 0; i < 3; i++) {
        const session = await open();
        batons.push(store.baton(session));
        await store.close(session);
      }
      const code = (baton: string) => (thrown(() => store.resume(baton, "main", "alice")) as BadBatonError).code;
      expect(batons.map(code)).toEqual(["STREAM_NOT_FOUND", "STREAM_CLOSED", "STREAM_CLOSED"]);
      clock.advance(999);
      expect(code(batons[2]!)).toBe("STREAM_CLOSED");
      clock.advance(1);
      expect(code(batons[2]!)).toBe("STREAM_NOT_FOUND");
    });
  });
}
