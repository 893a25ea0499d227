import { DriverError } from "./errors.js";
import { leadingWords } from "./statement-kind.js";

/** Thrown by an inline lease: re-run the unit of work on a worker connection (nothing of it persisted). */
export class InlineRedirect extends DriverError {
  constructor(
    readonly reason: "slow" | "busy" | "share" | "explain",
    message: string,
  ) {
    super("INLINE_REDIRECT", message);
  }
}

export function isInlineRedirect(error: unknown): error is InlineRedirect {
  return error instanceof InlineRedirect;
}

const TRANSACTION_CONTROL = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);

/** Whether an SQL text controls a transaction (its first keyword, comments skipped). */
export function isTransactionControl(sql: string): boolean {
  return TRANSACTION_CONTROL.has(leadingWords(sql, 1)[0] ?? "");
}
