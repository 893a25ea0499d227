import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DeadlineHeap } from "../src/deadline-heap.js";
import { Tombstones, type Tombstone } from "../src/tombstones.js";
import {
  BadBatonError,
  ManualClock,
  PrincipalMismatchError,
  SESSION_ERROR_CODES,
  SessionError,
  TooManySessionsError,
  TransactionAbortedError,
  isSessionError,
} from "../src/index.js";

describe("DeadlineHeap", () => {
  it("pops entries in deadline order, whatever the push order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 })), (deadlines) => {
        const heap = new DeadlineHeap<number>();
        deadlines.forEach((at, i) => heap.push(at, i));
        const popped: number[] = [];
        for (let entry = heap.pop(); entry !== undefined; entry = heap.pop()) popped.push(entry.at);
        expect(popped).toEqual([...deadlines].sort((a, b) => a - b));
        expect(heap.size).toBe(0);
      }),
    );
  });
});

describe("Tombstones", () => {
  const stone = (endedAt: number): Tombstone => ({
    reason: "closed",
    database: "main",
    principal: null,
    endedAt,
    idleForMs: 0,
    ageMs: 0,
  });

  it("forgets entries after the TTL and keeps at most maxEntries, oldest out first", () => {
    const tombstones = new Tombstones(100, 3);
    for (let i = 0; i < 5; i++) tombstones.add(`s${i}`, stone(i));
    expect(tombstones.size).toBe(3);
    expect(tombstones.get("s0", 5)).toBeUndefined();
    expect(tombstones.get("s1", 5)).toBeUndefined();
    expect(tombstones.get("s2", 5)).toBeDefined();
    expect(tombstones.get("s4", 103)).toBeDefined();
    expect(tombstones.get("s4", 104)).toBeUndefined();
    expect(tombstones.size).toBe(0);
  });

  it("stays bounded under heavy churn", () => {
    const tombstones = new Tombstones(1_000_000, 50);
    for (let i = 0; i < 10_000; i++) tombstones.add(`s${i}`, stone(i));
    expect(tombstones.size).toBe(50);
  });
});

describe("ManualClock", () => {
  it("fires due timers in deadline order, each at its own instant, and not the others", () => {
    const clock = new ManualClock(10);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(["b", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["a", clock.now()]), 5);
    const cancelled = clock.setTimeout(() => fired.push(["x", clock.now()]), 1);
    clock.setTimeout(() => fired.push(["late", clock.now()]), 100);
    clock.clearTimeout(cancelled);
    clock.advance(30);
    expect(fired).toEqual([
      ["a", 15],
      ["b", 30],
    ]);
    expect(clock.now()).toBe(40);
    expect(clock.pendingTimers).toBe(1);
  });
});

describe("error classes", () => {
  it("each has its own class, a stable code and an HTTP status", () => {
    const errors: SessionError[] = [
      new BadBatonError("BATON_INVALID", "x"),
      new TooManySessionsError("main", 3),
      new PrincipalMismatchError(),
      new TransactionAbortedError("TRANSACTION_TIMEOUT", "x"),
    ];
    expect(errors.map((e) => [e.name, e.code])).toEqual([
      ["BadBatonError", "BATON_INVALID"],
      ["TooManySessionsError", "TOO_MANY_SESSIONS"],
      ["PrincipalMismatchError", "BATON_PRINCIPAL_MISMATCH"],
      ["TransactionAbortedError", "TRANSACTION_TIMEOUT"],
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error);
      expect(isSessionError(error)).toBe(true);
      expect(SESSION_ERROR_CODES).toContain(error.code);
      expect(error).not.toHaveProperty("httpStatus");
    }
    expect(isSessionError(new Error("x"))).toBe(false);
    expect(isSessionError(errors[1], "TOO_MANY_SESSIONS")).toBe(true);
    expect((errors[1] as TooManySessionsError).message).not.toContain("main");
  });
});
