/**
 * `@hranad/settings`: the value syntax of hranad's configuration file and flags — durations, sizes, counts, ports,
 * mappings with known keys — and the error that names the key at fault. Each parser takes the key path it reads
 * (`where`, e.g. `limits.idleTimeoutMs`) and throws a `ConfigError` that starts with it.
 */

/** A configuration error: the message says which key is wrong and why. */
export class ConfigError extends Error {
  override readonly name: string = "ConfigError";
}

/** A YAML/JSON mapping (not null, not a list). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Refuses any key of `object` outside `allowed`, naming the allowed ones. */
export function checkKeys(where: string, object: Record<string, unknown>, allowed: Iterable<string>): void {
  const known = new Set(allowed);
  for (const key of Object.keys(object)) {
    if (!known.has(key)) throw new ConfigError(`${where}: unknown key "${key}" (allowed: ${[...known].join(", ")})`);
  }
}

/** A TCP port, 0 to 65535 (0: any free port), as a number or a string of digits. */
export function port(where: string, value: unknown): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${where}: must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from a number of milliseconds (≥ 0) or a string such as `"10s"`, `"500ms"`, `"1.5m"`; else undefined. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.round(value);
  if (typeof value !== "string") return undefined;
  const match = DURATION.exec(value.trim());
  return match ? Math.round(Number(match[1]) * UNIT_MS[match[2] ?? "ms"]!) : undefined;
}

/** A duration in milliseconds (see `parseDurationMs`). */
export function duration(where: string, value: unknown): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    throw new ConfigError(`${where}: must be a duration (milliseconds, or a string like "10s", "500ms", "5m"), got ${JSON.stringify(value)}`);
  }
  return ms;
}

/** An integer of at least `min`. */
export function count(where: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`${where}: must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

const SIZE = /^(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;
const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1 << 20, gb: 1e9, gib: 1 << 30 };

/** A size in bytes: a positive integer, or a string such as `"10MiB"`, `"512kb"`, `"1GiB"`. */
export function size(where: string, value: unknown): number {
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  if (typeof value === "string") {
    const match = SIZE.exec(value.trim());
    if (match) return Number(match[1]) * UNIT_BYTES[(match[2] ?? "b").toLowerCase()]!;
  }
  throw new ConfigError(`${where}: must be a size in bytes (or a string like "10MiB"), got ${JSON.stringify(value)}`);
}
