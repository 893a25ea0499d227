/**
 * Bounded (CI) versus soak mode. `HRANAD_SOAK=1` multiplies counts and durations; every loop stays bounded in
 * both modes and only ever targets 127.0.0.1.
 */
export const SOAK = process.env.HRANAD_SOAK === "1" || process.env.HRANAD_SOAK === "true";

/** `bounded` in CI, `soak` when HRANAD_SOAK is set. */
export function pick<T>(bounded: T, soak: T): T {
  return SOAK ? soak : bounded;
}

/** Vitest timeout for a test whose own work is bounded by `workMs`: the work plus room for setup and teardown. */
export function timeoutFor(workMs: number): number {
  return workMs + 60_000;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with a message naming `what` if `promise` does not settle within `ms`: nothing in these suites may hang. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The p-th percentile (0..100) of already sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}
