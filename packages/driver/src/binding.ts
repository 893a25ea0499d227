import { DriverError } from "./errors.js";
import type { Statement, Value } from "./types.js";
import { checkValue } from "./values.js";

/**
 * Resolves a statement's arguments to one value per SQLite parameter index, with Hrana's semantics.
 *
 * `params[i]` is the name of parameter index `i + 1` as SQLite reports it (`:a`, `@a`, `$a`, `?3`), or null for an
 * anonymous `?` or a gap left by `?NNN` numbering.
 * - Positional `args[i]` binds index `i + 1`, whatever the parameter's name (so `?NNN` holes are filled by
 *   position, as sqld does). More positional arguments than parameters is `ARGS_INVALID` (sqld: "too many").
 * - A named argument whose name carries a prefix matches that exact parameter; a bare name `a` matches every
 *   parameter named `:a`, `@a` or `$a` that has no exact match. Named parameters also have an index, so
 *   `SELECT :b, :a, ?1` binds `?1` through `:b` (SQLite gives both the same index).
 * - A named argument that matches no parameter is `ARGS_INVALID`; so is a parameter left without a value (except
 *   in EXPLAIN, where missing values are bound as NULL, as sqld does).
 * - An index given both a positional and a named value is `ARGS_BOTH_POSITIONAL_AND_NAMED`.
 *
 * The result has exactly `params.length` entries.
 */
export function resolveArguments(params: readonly (string | null)[], statement: Statement, explain: boolean): Value[] {
  const count = params.length;
  const args = statement.args ?? [];
  const namedArgs = statement.namedArgs ?? [];
  if (args.length > count) {
    throw new DriverError(
      "ARGS_INVALID",
      `Arguments do not match SQL parameters: the statement takes ${count} parameter(s) but ${args.length} positional argument(s) were provided`,
    );
  }
  const values: (Value | undefined)[] = new Array<Value | undefined>(count);
  for (let i = 0; i < args.length; i += 1) values[i] = checkValue(args[i], `Argument ${i + 1}`);

  if (namedArgs.length > 0) {
    const byName = new Map<string, Value>();
    for (const arg of namedArgs) {
      if (byName.has(arg.name)) {
        throw new DriverError("ARGS_INVALID", `Arguments do not match SQL parameters: named argument "${arg.name}" is given twice`);
      }
      byName.set(arg.name, checkValue(arg.value, `Named argument "${arg.name}"`));
    }
    const used = new Set<string>();
    for (let i = 0; i < count; i += 1) {
      const name = params[i];
      if (name === null || name === undefined || name.startsWith("?")) continue;
      const key = byName.has(name) ? name : byName.has(name.slice(1)) ? name.slice(1) : undefined;
      if (key === undefined) continue;
      if (values[i] !== undefined) {
        throw new DriverError(
          "ARGS_BOTH_POSITIONAL_AND_NAMED",
          `Parameter ${name} is given both a positional and a named argument`,
        );
      }
      values[i] = byName.get(key);
      used.add(key);
    }
    for (const name of byName.keys()) {
      if (!used.has(name)) {
        throw new DriverError("ARGS_INVALID", `Arguments do not match SQL parameters: no parameter is named "${name}"`);
      }
    }
  }

  for (let i = 0; i < count; i += 1) {
    if (values[i] !== undefined) continue;
    if (explain) {
      values[i] = null;
      continue;
    }
    const name = params[i];
    const provided = args.length + namedArgs.length;
    throw new DriverError(
      "ARGS_INVALID",
      name
        ? `Arguments do not match SQL parameters: no value for parameter ${name} (required ${count}, provided ${provided})`
        : `Arguments do not match SQL parameters: required ${count} argument(s) but ${provided} were provided`,
    );
  }
  return values as Value[];
}
