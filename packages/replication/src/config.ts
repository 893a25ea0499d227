import { fileURLToPath } from "node:url";
import { ConfigError, parseDurationMs } from "@hranad/settings";

/** Where the replicas live. */
export type ReplicaTarget =
  /** A directory on this machine (another disk, a network mount): `file:///var/backups/hranad`. */
  | { readonly kind: "file"; readonly path: string }
  /** An S3-compatible bucket: `s3://bucket/prefix`; endpoint, region and credentials come from the environment. */
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

/** The `replication:` section of the server configuration, validated. */
export interface ReplicationConfig {
  /** The URL as written. */
  readonly url: string;
  readonly target: ReplicaTarget;
  /** How often new WAL frames are shipped to the replica, in milliseconds. */
  readonly syncIntervalMs: number;
  /** `"*"`: every database the server serves; otherwise the names listed. */
  readonly databases: "*" | readonly string[];
}

/** A bad `replication:` section: the message starts with the key path, e.g. `replication.syncInterval: …`. */
export class ReplicationConfigError extends ConfigError {
  override readonly name = "ReplicationConfigError";
}

const KEYS = ["url", "syncInterval", "databases"];
const DATABASE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Litestream ships no faster than this; a shorter interval only burns requests. */
const MIN_SYNC_INTERVAL_MS = 100;
export const DEFAULT_SYNC_INTERVAL_MS = 1000;

function fail(key: string, message: string): never {
  throw new ReplicationConfigError(`replication${key === "" ? "" : `.${key}`}: ${message}`);
}

/**
 * Validates the `replication:` section of the configuration (as parsed from YAML). `undefined` or `null` means no
 * replication and gives `null`. Throws `ReplicationConfigError` naming the key path.
 */
export function parseReplication(value: unknown): ReplicationConfig | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) fail("", "must be a mapping with url, syncInterval and databases");
  const section = value as Record<string, unknown>;
  for (const key of Object.keys(section)) {
    if (!KEYS.includes(key)) fail("", `unknown key "${key}" (allowed: ${KEYS.join(", ")})`);
  }
  const url = section.url;
  if (typeof url !== "string" || url.length === 0) fail("url", "must be a file:// or s3:// URL");
  return {
    url,
    target: parseTarget(url),
    syncIntervalMs: parseSyncInterval(section.syncInterval),
    databases: parseDatabases(section.databases),
  };
}

function parseTarget(url: string): ReplicaTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail("url", `must be a file:// or s3:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.search !== "" || parsed.hash !== "" || parsed.username !== "" || parsed.password !== "") {
    fail("url", "must not carry credentials, a query or a fragment (credentials come from the environment)");
  }
  if (parsed.protocol === "file:") {
    if (parsed.host !== "") fail("url", `a file URL names a local directory: file:///path, got ${JSON.stringify(url)}`);
    const path = fileURLToPath(parsed).replace(/\/+$/, "");
    if (path === "") fail("url", "must name a directory other than /");
    return { kind: "file", path };
  }
  if (parsed.protocol === "s3:") {
    const bucket = parsed.hostname;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) fail("url", `the bucket name ${JSON.stringify(bucket)} is not valid`);
    const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, "");
    return { kind: "s3", bucket, prefix };
  }
  fail("url", `must be a file:// or s3:// URL, got ${JSON.stringify(url)}`);
}

function parseSyncInterval(value: unknown): number {
  if (value === undefined) return DEFAULT_SYNC_INTERVAL_MS;
  const ms = parseDurationMs(value);
  if (ms === undefined) fail("syncInterval", `must be a duration (milliseconds, or a string like "1s", "500ms"), got ${JSON.stringify(value)}`);
  if (ms < MIN_SYNC_INTERVAL_MS) fail("syncInterval", `must be at least ${MIN_SYNC_INTERVAL_MS}ms`);
  return ms;
}

function parseDatabases(value: unknown): "*" | readonly string[] {
  if (value === undefined) return "*";
  if (!Array.isArray(value)) fail("databases", `must be a list of database names, or ["*"]`);
  if (value.length === 1 && value[0] === "*") return "*";
  if (value.length === 0) fail("databases", `must name at least one database (or "*")`);
  const names: string[] = [];
  value.forEach((name: unknown, i) => {
    if (name === "*") fail(`databases[${i}]`, `"*" must be the only entry`);
    if (typeof name !== "string" || !DATABASE_NAME.test(name)) {
      fail(`databases[${i}]`, `must be a database name ([A-Za-z0-9_-]{1,64}), got ${JSON.stringify(name)}`);
    }
    if (names.includes(name)) fail(`databases[${i}]`, `"${name}" is listed twice`);
    names.push(name);
  });
  return Object.freeze(names);
}

/**
 * The names among `served` that are replicated. Throws `ReplicationConfigError` when the section lists a database
 * the server does not serve.
 */
export function replicatedNames(config: ReplicationConfig, served: readonly string[]): string[] {
  if (config.databases === "*") return [...served];
  config.databases.forEach((name, i) => {
    if (!served.includes(name)) fail(`databases[${i}]`, `"${name}" is not one of the server's databases`);
  });
  return [...config.databases];
}

/** Formats milliseconds as a Go duration (`1500ms`), which is what Litestream's configuration reads. */
export function goDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`;
}
