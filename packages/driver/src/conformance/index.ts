/**
 * `@hranad/driver/conformance`: the test kit every driver package runs against itself (requires vitest).
 *
 * ```ts
 * import { runDriverConformance } from "@hranad/driver/conformance";
 * runDriverConformance("better-sqlite3", () => betterSqlite3Driver);
 * ```
 */
import { describe } from "vitest";
import type { Driver } from "../types.js";
import { bindingTests } from "./binding.js";
import { boundTests } from "./bounds.js";
import { ConformanceContext, type ConformanceOptions } from "./context.js";
import { cursorTests } from "./cursors.js";
import { deadlineTests } from "./deadline.js";
import { errorTests } from "./errors.js";
import { holdsStateTests } from "./holds-state.js";
import { inlineTests } from "./inline.js";
import { interruptTests } from "./interrupt.js";
import { poolTests } from "./pool.js";
import { readOnlyTests } from "./read-only.js";
import { resultTests } from "./results.js";
import { schemaChangeTests } from "./schema-change.js";
import { transactionTests } from "./transactions.js";
import { valueTests } from "./values.js";

export type { ConformanceOptions } from "./context.js";

/** Registers the driver conformance suite (vitest `describe`/`it` blocks) for one driver. */
export function runDriverConformance(name: string, makeDriver: () => Driver, options: ConformanceOptions = {}): void {
  describe(`${name}: driver conformance`, () => {
    const ctx = new ConformanceContext(name, makeDriver, options);
    valueTests(ctx);
    bindingTests(ctx);
    resultTests(ctx);
    errorTests(ctx);
    transactionTests(ctx);
    readOnlyTests(ctx);
    deadlineTests(ctx);
    interruptTests(ctx);
    cursorTests(ctx);
    poolTests(ctx);
    holdsStateTests(ctx);
    boundTests(ctx);
    schemaChangeTests(ctx);
    inlineTests(ctx);
  });
}
