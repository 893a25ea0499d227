import { DriverError } from "./errors.js";

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

const TRANSACTION_CONTROL = /^\s*(begin|commit|end|rollback|savepoint|release)\b/i;

/** Whether an SQL text controls a transaction (the pipeline keeps such requests off the inline connection). */
export function isTransactionControl(sql: string): boolean {
  return TRANSACTION_CONTROL.test(sql);
}
