import { isAbsolute, relative, resolve, sep } from "node:path";
import type { OpenMode, OpenOptions } from "@hranad/driver";
import { RegistryError } from "./registry-error.js";

/** Driver options a database may set; `path` and `mode` are the registry's to decide. */
export type DatabaseOpenOptions = Partial<Omit<OpenOptions, "path" | "mode">>;

export interface DatabaseConfig {
  /** `[A-Za-z0-9_-]{1,64}`; what clients address. */
  readonly name: string;
  /** Relative to the data directory (or absolute inside it). Default `${name}.db`. */
  readonly path?: string;
  /** The name of one of the registry's drivers. Default: the registry's default driver. */
  readonly driver?: string;
  /** Default `"readwrite"` (a missing file is an error), or `"create"` when `create` is true. */
  readonly mode?: OpenMode;
  /** Shorthand for `mode: "create"`: create the file (and its directories) when missing. */
  readonly create?: boolean;
  /** Per-database driver options, over the registry's `defaults`. */
  readonly open?: DatabaseOpenOptions;
  /**
   * Another process runs this database's checkpoints (a replicator such as Litestream, which must see every WAL
   * frame before it is checkpointed away): connections open with automatic checkpoints off, and `WalGuard` leaves the
   * database alone. The checkpoint at `detach`/`closeAll` still runs: stop the replicator (its final sync) first.
   */
  readonly externalCheckpoints?: boolean;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MODES: readonly OpenMode[] = ["create", "readwrite", "readonly"];
const NUMERIC_OPTIONS = ["busyTimeoutMs", "statementTimeoutMs", "maxConnections", "acquireTimeoutMs", "walAutocheckpointPages"] as const;

export function validateName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new RegistryError("DATABASE_NAME_INVALID", "database names must match [A-Za-z0-9_-]{1,64}");
  }
}

/** Whether `path` lies strictly inside `root` (both absolute and normalized). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(".." + sep) && !isAbsolute(rel);
}

/**
 * The absolute file path of a database, checked lexically: no `..` segment, no NUL, and inside `dataDir`.
 * Symlinks are checked later, at open time, against the file system as it is then.
 */
export function resolveDatabasePath(dataDir: string, name: string, path: string | undefined): string {
  const raw = path ?? `${name}.db`;
  const invalid = (why: string): RegistryError =>
    new RegistryError("DATABASE_PATH_INVALID", `database "${name}": ${why}`);
  if (typeof raw !== "string" || raw.length === 0 || raw.length > 4096) throw invalid("path must be a non-empty string");
  if (raw.includes("\0")) throw invalid("path must not contain NUL");
  if (raw.split(/[\\/]/).includes("..")) throw invalid("path must not contain '..'");
  if (/[\\/]$/.test(raw)) throw invalid("path must name a file");
  const absolute = resolve(dataDir, raw);
  if (!isInside(dataDir, absolute)) throw invalid("path must stay inside the data directory");
  return absolute;
}

export function resolveMode(config: DatabaseConfig): OpenMode {
  const { mode, create } = config;
  if (mode !== undefined && !MODES.includes(mode)) {
    throw new RegistryError("CONFIG_INVALID", `database "${config.name}": mode must be create, readwrite or readonly`);
  }
  if (create !== undefined && typeof create !== "boolean") {
    throw new RegistryError("CONFIG_INVALID", `database "${config.name}": create must be a boolean`);
  }
  if (create === true) {
    if (mode === "readonly") {
      throw new RegistryError("CONFIG_INVALID", `database "${config.name}": a read-only database cannot be created`);
    }
    return "create";
  }
  return mode ?? "readwrite";
}

export function validateOpenOptions(options: DatabaseOpenOptions | undefined, where: string): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new RegistryError("CONFIG_INVALID", `${where}: open options must be an object`);
  }
  for (const key of NUMERIC_OPTIONS) {
    const value = options[key];
    if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value < 0)) {
      throw new RegistryError("CONFIG_INVALID", `${where}: ${key} must be a non-negative integer`);
    }
  }
  if (options.maxConnections === 0) throw new RegistryError("CONFIG_INVALID", `${where}: maxConnections must be ≥ 1`);
}

/** A deep-frozen copy, so a caller mutating its object later cannot change a database under the registry. */
export function freezeConfig(config: DatabaseConfig): Readonly<DatabaseConfig> {
  const copy: DatabaseConfig = { ...config, ...(config.open ? { open: Object.freeze({ ...config.open }) } : {}) };
  return Object.freeze(copy);
}
