import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionStore, type Session } from "../src/index.js";
import { closeEverything, CountingCapture, DRIVERS, makeHarness, type Harness } from "./support.js";

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`changeset capture ownership on ${name}`, () => {
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

    const idleSessionWith = async (capture: CountingCapture): Promise<Session> => {
      const session = await store.open(h.db, () => {}, "alice", false);
      session.setCapture(capture);
      store.baton(session);
      return session;
    };

    it("the store closes a capture left attached when the session ends", async () => {
      const capture = new CountingCapture();
      const session = await idleSessionWith(capture);
      expect(session.capture).toBe(capture);
      await store.close(session);
      expect(capture.closes).toBe(1);
      expect(session.capture).toBeUndefined();
    });

    it("takeCapture hands ownership over: teardown then leaves it alone", async () => {
      const capture = new CountingCapture();
      const session = await idleSessionWith(capture);
      const taken = session.takeCapture();
      expect(taken).toBe(capture);
      expect(session.capture).toBeUndefined();
      expect(session.takeCapture()).toBeUndefined();
      await store.close(session);
      expect(capture.closes).toBe(0);
      expect(await taken!.changeset()).toEqual(new Uint8Array([1, 2, 3]));
      await taken!.close();
      expect(capture.closes).toBe(1);
    });

    for (const order of ["shutdown first", "request first"] as const) {
      it(`is closed exactly once when shutdown races the request that fetches it (${order})`, async () => {
        const capture = new CountingCapture(20); // a slow close widens the race window
        const session = await idleSessionWith(capture);
        const request = async () => {
          const mine = session.takeCapture();
          if (mine) {
            await mine.changeset();
            await mine.close();
          }
        };
        const racers = order === "shutdown first" ? [store.closeAll(), request()] : [request(), store.closeAll()];
        await Promise.all(racers);
        await store.settled();
        expect(capture.closes).toBe(1);
        expect(store.count()).toBe(0);
      });
    }

    it("a capture attached to a busy session that shutdown skipped is closed once, when the request ends", async () => {
      const capture = new CountingCapture(5);
      const session = await store.open(h.db, () => {}, "alice", false);
      session.setCapture(capture);
      await store.closeAll(); // busy: skipped
      expect(capture.closes).toBe(0);
      store.baton(session); // the request ends without taking it
      await store.settled();
      expect(capture.closes).toBe(1);
    });

    it("kill and the reaper close it once too; attaching to an ended session closes at once", async () => {
      const killedCapture = new CountingCapture();
      const session = await idleSessionWith(killedCapture);
      await Promise.all([store.kill(session.id), store.kill(session.id), store.close(session)]);
      expect(killedCapture.closes).toBe(1);

      const late = new CountingCapture();
      session.setCapture(late);
      expect(late.closes).toBe(1);
      expect(session.capture).toBeUndefined();
    });

    it("refuses a second capture while one is attached", async () => {
      const session = await idleSessionWith(new CountingCapture());
      expect(() => session.setCapture(new CountingCapture())).toThrow(/already attached/);
    });
  });
}
