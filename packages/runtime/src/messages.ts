import { DriverError, SqliteError, type CheckpointMode, type DriverErrorCode, type Statement } from "@hranad/driver";
import type { EngineOpenOptions } from "@hranad/driver/engine";

/**
 * Main thread → worker. Every request carries an id that its reply echoes. `reset: true` asks the worker to ready
 * the connection for a new user first (the pool defers a release's reset to the next request: one round trip less).
 */
export type HostRequest = (
  | { readonly id: number; readonly op: "open"; readonly engine: string; readonly options: EngineOpenOptions }
  | { readonly id: number; readonly op: "execute"; readonly statement: Statement }
  | { readonly id: number; readonly op: "script"; readonly sql: string }
  | { readonly id: number; readonly op: "describe"; readonly sql: string }
  | { readonly id: number; readonly op: "cursor-open"; readonly statement: Statement }
  | { readonly id: number; readonly op: "cursor-next"; readonly maxRows: number; readonly maxBytes?: number }
  | { readonly id: number; readonly op: "cursor-close" }
  | { readonly id: number; readonly op: "autocommit" }
  | { readonly id: number; readonly op: "read-only"; readonly on: boolean }
  | { readonly id: number; readonly op: "checkpoint"; readonly mode: CheckpointMode }
  | { readonly id: number; readonly op: "reset" }
  | { readonly id: number; readonly op: "close" }
) & { readonly reset?: boolean };

/** An error as it crosses the thread boundary (rebuilt as `SqliteError`/`DriverError` on the main side). */
export type WireError =
  | {
      readonly kind: "sqlite";
      readonly code: string;
      readonly extendedCode: string;
      readonly rawCode: number | undefined;
      readonly message: string;
    }
  | { readonly kind: "driver"; readonly code: DriverErrorCode; readonly message: string }
  | { readonly kind: "internal"; readonly message: string };

/** Worker → main thread. `autocommit` is read back after every request, failed ones included. */
export type HostReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown; readonly autocommit: boolean; readonly readOnly: boolean; readonly holdsState: boolean }
  | { readonly id: number; readonly ok: false; readonly error: WireError; readonly autocommit: boolean; readonly readOnly: boolean; readonly holdsState: boolean };

/**
 * Worker → main thread, unasked: the interrupt key of the connection the worker just opened (also when it reopens
 * the connection in place for a new user), posted before the reply of the request that opened it. `null`: the
 * engine cannot be interrupted.
 */
export interface HostEvent {
  readonly event: "interrupt-key";
  readonly key: string | null;
}

/** Everything a worker posts. */
export type WorkerMessage = HostReply | HostEvent;

export function toWireError(error: unknown): WireError {
  if (error instanceof SqliteError || (error instanceof Error && error.name === "SqliteError" && "extendedCode" in error)) {
    const e = error as SqliteError;
    return { kind: "sqlite", code: e.code, extendedCode: e.extendedCode, rawCode: e.rawCode, message: e.message };
  }
  if (error instanceof DriverError || (error instanceof Error && error.name === "DriverError" && "code" in error)) {
    const e = error as DriverError;
    return { kind: "driver", code: e.code, message: e.message };
  }
  return { kind: "internal", message: error instanceof Error ? error.message : String(error) };
}

export function fromWireError(error: WireError): Error {
  switch (error.kind) {
    case "sqlite":
      return new SqliteError(error.message, error.code, error.extendedCode, error.rawCode);
    case "driver":
      return new DriverError(error.code, error.message);
    default:
      return new Error(`Internal driver error: ${error.message}`);
  }
}
