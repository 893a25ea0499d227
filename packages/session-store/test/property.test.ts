import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  BadBatonError,
  ManualClock,
  SessionStore,
  TooManySessionsError,
  type EndReason,
  type Session,
} from "../src/index.js";
import { closeEverything, DRIVERS, HandleCounter, makeHarness, thrown, type Harness } from "./support.js";

const IDLE = 1000;
const LIFETIME = 4000;
const GRID = 100;
const CAP = 3;
const PRINCIPALS = ["p0", "p1"] as const;

type Op =
  | { readonly kind: "open"; readonly principal: 0 | 1 }
  | { readonly kind: "resume"; readonly i: number; readonly which: "current" | "old" | "wrongDb" | "wrongPrincipal" }
  | { readonly kind: "finish"; readonly i: number }
  | { readonly kind: "close"; readonly i: number }
  | { readonly kind: "kill"; readonly i: number }
  | { readonly kind: "peek"; readonly i: number }
  | { readonly kind: "closeAll" }
  | { readonly kind: "advance"; readonly ms: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("open" as const), principal: fc.constantFrom(0 as const, 1 as const) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("resume" as const),
      i: fc.nat(7),
      which: fc.constantFrom("current" as const, "current" as const, "old" as const, "wrongDb" as const, "wrongPrincipal" as const),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("finish" as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("close" as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("kill" as const), i: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("peek" as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("closeAll" as const) }) },
);

interface ModelSession {
  readonly session: Session;
  readonly principal: string;
  readonly createdAt: number;
  state: "busy" | "idle" | "ended";
  reason: EndReason | undefined;
  lastActiveAt: number;
  /** The last baton handed out, and whether a resume consumed it. */
  current: string | undefined;
  consumed: boolean;
  /** A baton handed out by peekBaton during the current request: baton() must return the same. */
  peeked: string | undefined;
  /** closeAll skipped it while busy: it ends when its request finishes. */
  closeWhenIdle: boolean;
  /** Every baton a resume accepted: none may work again. */
  readonly used: string[];
}

const REASON_CODE: Record<EndReason, string> = {
  closed: "STREAM_CLOSED",
  expired: "STREAM_EXPIRED",
  lifetime: "STREAM_LIFETIME_EXCEEDED",
  killed: "STREAM_KILLED",
  stalled: "STREAM_STALLED",
  shutdown: "SERVER_SHUTTING_DOWN",
};

const gridded = (at: number) => Math.ceil(at / GRID) * GRID;

async function runScenario(h: Harness, ops: readonly Op[]): Promise<void> {
  const clock = new ManualClock();
  const store = new SessionStore({ clock, idleTimeoutMs: IDLE, maxLifetimeMs: LIFETIME, maxSessionsPerDatabase: CAP });
  const stop = new AbortController();
  const stopped = store.startReaper(GRID, stop.signal);
  const handles = new HandleCounter(h.pool);
  const model: ModelSession[] = [];
  let refusedOpens = 0;
  const live = () => model.filter((m) => m.state !== "ended");
  const pick = (i: number) => (model.length === 0 ? undefined : model[i % model.length]);
  const refusal = (baton: string, principal: string, database = "main") =>
    thrown(() => store.resume(baton, database, principal)) as BadBatonError;

  const checkInvariants = async () => {
    await store.settled();
    expect(store.count("main")).toBe(live().length);
    expect(store.list().length).toBe(live().length);
    // An idle session in autocommit gives its connection back, and takes one again at its next call: every
    // connection in use belongs to a live session, and none is leaked.
    expect(h.pool.stats().inUse).toBe(store.list().filter((info) => info.holdsConnection).length);
    expect(handles.released).toBe(model.length - live().length + refusedOpens);
    for (const m of model) {
      expect(m.session.endReason).toBe(m.reason);
      expect(m.session.busy).toBe(m.state === "busy");
    }
  };

  try {
    for (const op of ops) {
      const m = "i" in op ? pick(op.i) : undefined;
      switch (op.kind) {
        case "open": {
          const principal = PRINCIPALS[op.principal];
          if (live().length < CAP) {
            const session = await store.open(h.db, handles.handle(), principal, false);
            model.push({
              session,
              principal,
              createdAt: clock.now(),
              state: "busy",
              reason: undefined,
              lastActiveAt: clock.now(),
              current: undefined,
              consumed: false,
              peeked: undefined,
              closeWhenIdle: false,
              used: [],
            });
          } else {
            await expect(store.open(h.db, handles.handle(), principal, false)).rejects.toBeInstanceOf(TooManySessionsError);
            refusedOpens++; // the refused open gave its handle back at once
          }
          break;
        }
        case "resume": {
          if (m === undefined) break;
          if (op.which === "old") {
            for (const old of m.used) {
              const code = refusal(old, m.principal).code;
              expect(code).toBe(m.state === "ended" ? REASON_CODE[m.reason!] : "BATON_REUSED");
            }
            break;
          }
          if (m.current === undefined) break;
          if (op.which === "wrongDb") {
            expect(refusal(m.current, m.principal, "other").code).toBe("BATON_DATABASE_MISMATCH");
            break;
          }
          if (op.which === "wrongPrincipal") {
            const other = m.principal === "p0" ? "p1" : "p0";
            expect(refusal(m.current, other).code).toBe("BATON_PRINCIPAL_MISMATCH");
            break;
          }
          if (m.state === "ended") expect(refusal(m.current, m.principal).code).toBe(REASON_CODE[m.reason!]);
          else if (m.consumed) expect(refusal(m.current, m.principal).code).toBe("BATON_REUSED");
          else {
            expect(store.resume(m.current, "main", m.principal)).toBe(m.session);
            m.used.push(m.current);
            m.consumed = true;
            m.state = "busy";
          }
          break;
        }
        case "finish": {
          if (m === undefined || m.state !== "busy") break;
          const baton = store.baton(m.session);
          expect(m.used).not.toContain(baton);
          if (m.peeked !== undefined) expect(baton).toBe(m.peeked);
          m.peeked = undefined;
          m.current = baton;
          m.consumed = false;
          m.state = "idle";
          m.lastActiveAt = clock.now();
          if (m.closeWhenIdle) {
            m.state = "ended";
            m.reason = "shutdown";
          }
          break;
        }
        case "peek": {
          if (m === undefined || m.state !== "busy") break;
          const peeked = store.peekBaton(m.session);
          expect(refusal(peeked, m.principal).code).toBe("STREAM_BUSY");
          m.peeked = peeked;
          break;
        }
        case "closeAll": {
          await store.closeAll();
          for (const s of model) {
            if (s.state === "idle") {
              s.state = "ended";
              s.reason = "shutdown";
            } else if (s.state === "busy") s.closeWhenIdle = true;
          }
          break;
        }
        case "close": {
          if (m === undefined || m.state === "ended") break;
          await store.close(m.session);
          m.state = "ended";
          m.reason = "closed";
          break;
        }
        case "kill": {
          if (m === undefined) break;
          const expected = m.state === "ended" ? "not-found" : "killed";
          expect(await store.kill(m.session.id)).toBe(expected);
          if (expected === "killed") {
            m.state = "ended";
            m.reason = "killed";
          }
          break;
        }
        case "advance": {
          const from = clock.now();
          const to = from + op.ms;
          for (const s of model) {
            if (s.state !== "idle") continue;
            const reapAt = gridded(Math.min(s.lastActiveAt + IDLE, s.createdAt + LIFETIME));
            if (reapAt <= to) {
              s.state = "ended";
              s.reason = Math.max(reapAt, from) >= s.createdAt + LIFETIME ? "lifetime" : "expired";
            }
          }
          clock.advance(op.ms);
          break;
        }
      }
      await checkInvariants();
    }
  } finally {
    for (const s of model) if (s.state === "busy") store.baton(s.session);
    stop.abort();
    await stopped;
    await closeEverything(store); // a failed run must not leak connections into the next one
    await store.settled();
  }
  // after shutdown: nothing leaked, and no baton ever handed out resumes
  expect(h.pool.stats()).toMatchObject({ inUse: 0, waiting: 0 });
  expect(store.count()).toBe(0);
  for (const s of model) {
    for (const baton of [...s.used, ...(s.current ? [s.current] : [])]) {
      expect(refusal(baton, s.principal)).toBeInstanceOf(BadBatonError);
    }
  }
}

for (const { name, driver } of DRIVERS) {
  describe.runIf(driver !== undefined)(`model-based sequences on ${name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await makeHarness(driver!, { maxConnections: CAP, acquireTimeoutMs: 10_000 });
    });
    afterAll(async () => {
      await h.cleanup();
    });

    it("keeps the invariants: no connection leaked, count = live sessions, no baton works twice", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 40 }), (ops) => runScenario(h, ops)),
        { numRuns: Number(process.env.PROPERTY_RUNS ?? 40) },
      );
    });
  });
}
