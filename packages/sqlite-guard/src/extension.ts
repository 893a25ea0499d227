import { fileURLToPath } from "node:url";

/**
 * Absolute path of the compiled extension. Resolved from this module's URL, so it is the same from `src/` (tests)
 * and from `dist/` (consumers). Pass it to `db.loadExtension(extensionPath)` without an entry point name: the file
 * name makes SQLite's default entry point `sqlite3_sqliteguard_init` match (libsql 0.5 panics when given a name).
 */
export const extensionPath: string = fileURLToPath(new URL("../build/sqliteguard.so", import.meta.url));

/** The SQL functions the extension registers on each connection. */
export const GUARD_FUNCTIONS = Object.freeze({
  /** `hranad_guard_token()`: a 32-hex-character token on its first call per connection, an error afterwards. */
  token: "hranad_guard_token",
  /** `hranad_guard_readonly(token, on)`: switches the read-only guard (0/1); returns the new state. */
  readOnly: "hranad_guard_readonly",
  /** `hranad_guard_deadline(token, ms)`: sets the per-statement deadline (0 = none); returns the previous one. */
  deadline: "hranad_guard_deadline",
  /** `hranad_guard_attach(token, allow)`: with 0, ATTACH of a file is refused even while writable; returns allow. */
  attach: "hranad_guard_attach",
  /**
   * `hranad_guard_dirty(token)`: 1 when a statement prepared since the last call leaves state on the connection
   * beyond its database (a setting PRAGMA, a temp object, an attached database); clears the mark.
   */
  dirty: "hranad_guard_dirty",
  /** `hranad_describe(sql)`: prepares (never runs) `sql` and returns its description as JSON text. */
  describe: "hranad_describe",
  /**
   * `hranad_guard_interrupt_key(token)`: this connection's secret interrupt key (32 hex characters, made on the first
   * call, the same afterwards); it names the connection for `hranad_guard_interrupt` until the connection is freed.
   */
  interruptKey: "hranad_guard_interrupt_key",
  /**
   * `hranad_guard_interrupt(token, key)`: `token` is the *calling* connection's token; interrupts the statement that
   * the connection holding `key` runs now (any thread, any SQLite library of the process). Returns how many
   * connections hold the key (0 or 1).
   */
  interrupt: "hranad_guard_interrupt",
} as const);

export type GuardFunctionName = (typeof GUARD_FUNCTIONS)[keyof typeof GUARD_FUNCTIONS];

/** Error messages the extension raises, for callers that need to tell them apart. */
export const GUARD_ERRORS = Object.freeze({
  /** SQLITE_AUTH: `hranad_guard_token()` was already called on this connection. */
  tokenClaimed: "guard token already claimed",
  /** SQLITE_AUTH: the token given to a switch is not this connection's token (or none was claimed). */
  wrongToken: "wrong guard token",
} as const);

/** The highest deadline accepted, in milliseconds (the same ceiling as `setTimeout`). */
export const MAX_DEADLINE_MS = 2_147_483_647;
