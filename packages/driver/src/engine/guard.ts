import type { Column } from "../types.js";

/** The guard extension's description of one SQL text (`SELECT hranad_describe(sql)`). */
export interface GuardDescription {
  /** `params[i]` is the name of parameter index i + 1, or null. */
  readonly params: readonly (string | null)[];
  readonly columns: readonly Column[];
  readonly readonly: boolean;
  readonly explain: 0 | 1 | 2;
  /** Another statement follows the first one. */
  readonly tail: boolean;
  /** The text holds no statement at all. */
  readonly empty: boolean;
}

export const GUARD_SQL = {
  token: "SELECT hranad_guard_token()",
  readOnly: "SELECT hranad_guard_readonly(?, ?)",
  deadline: "SELECT hranad_guard_deadline(?, ?)",
  attach: "SELECT hranad_guard_attach(?, ?)",
  dirty: "SELECT hranad_guard_dirty(?)",
  describe: "SELECT hranad_describe(?)",
} as const;

interface RawDescription {
  params?: unknown;
  columns?: unknown;
  readonly?: unknown;
  explain?: unknown;
  tail?: unknown;
  empty?: unknown;
}

/** Parses the JSON returned by `hranad_describe`, checking its shape. */
export function parseGuardDescription(json: unknown): GuardDescription {
  if (typeof json !== "string") throw new Error("hranad_describe returned no text");
  const raw = JSON.parse(json) as RawDescription;
  const params = Array.isArray(raw.params) ? raw.params.map((p: unknown) => (typeof p === "string" ? p : null)) : [];
  const columns = Array.isArray(raw.columns)
    ? raw.columns.map((c: unknown): Column => {
        const col = (c ?? {}) as { name?: unknown; decltype?: unknown };
        return {
          name: typeof col.name === "string" ? col.name : "",
          decltype: typeof col.decltype === "string" ? col.decltype : null,
        };
      })
    : [];
  const explain = raw.explain === 1 || raw.explain === 2 ? raw.explain : 0;
  return {
    params,
    columns,
    readonly: raw.readonly === true,
    explain,
    tail: raw.tail === true,
    empty: raw.empty === true,
  };
}
