/**
 * The worker thread script: hosts at most one engine connection at a time and runs requests strictly in order.
 * Engine modules are imported by URL on first use and kept, so a reused worker opens its next connection at once.
 */
import { parentPort } from "node:worker_threads";
import { DriverError } from "@hranad/driver";
import type { EngineConnection, EngineCursor, EngineModule } from "@hranad/driver/engine";
import { toWireError, type HostEvent, type HostReply, type HostRequest } from "./messages.js";

const port = parentPort;
if (!port) throw new Error("the driver host worker must run in a worker thread");

const engines = new Map<string, EngineModule>();
let connection: EngineConnection | undefined;
/** How the current connection was opened, to open it afresh when a user left state on it. */
let opened: { readonly engine: EngineModule; readonly options: Extract<HostRequest, { op: "open" }>["options"] } | undefined;
let cursor: EngineCursor | undefined;
/** Requests that arrived while an asynchronous `open` was in progress, kept in order. */
let queue: HostRequest[] | undefined;

function current(): EngineConnection {
  if (!connection) throw new DriverError("CONNECTION_CLOSED", "No connection is open in this worker");
  return connection;
}

function run(request: HostRequest): unknown {
  switch (request.op) {
    case "execute":
      return current().execute(request.statement);
    case "script":
      current().executeScript(request.sql);
      return undefined;
    case "describe":
      return current().describe(request.sql);
    case "cursor-open": {
      if (cursor) throw new DriverError("CURSOR_BUSY", "A cursor is already open on this connection");
      cursor = current().openCursor(request.statement);
      return { columns: cursor.columns };
    }
    case "cursor-next": {
      if (!cursor) throw new DriverError("CURSOR_BUSY", "No cursor is open on this connection");
      const chunk = cursor.step(request.maxRows, request.maxBytes);
      if (chunk.done) cursor = undefined;
      return chunk;
    }
    case "cursor-close":
      cursor?.close();
      cursor = undefined;
      return undefined;
    case "autocommit":
      return undefined;
    case "read-only":
      current().setReadOnly(request.on);
      return undefined;
    case "checkpoint":
      return current().checkpoint(request.mode);
    case "reset":
      cursor = undefined;
      return current().reset();
    case "close":
      cursor?.close();
      cursor = undefined;
      connection?.close();
      connection = undefined;
      return undefined;
    default:
      throw new DriverError("NOT_SUPPORTED", `Unknown request ${(request as { op: string }).op}`);
  }
}

function reply(id: number, ok: boolean, valueOrError: unknown): void {
  let autocommit = true;
  let readOnly = false;
  let holdsState = false;
  try {
    autocommit = connection ? !connection.inTransaction : true;
    readOnly = connection ? connection.readOnly : false;
    holdsState = connection ? connection.holdsState : false;
  } catch {
    // a broken connection reports the defaults
  }
  const message: HostReply = ok
    ? { id, ok: true, value: valueOrError, autocommit, readOnly, holdsState }
    : { id, ok: false, error: toWireError(valueOrError), autocommit, readOnly, holdsState };
  port!.postMessage(message);
}

/** Tells the main thread the interrupt key of the connection just opened (before the reply that follows). */
function announceKey(): void {
  const event: HostEvent = { event: "interrupt-key", key: connection?.interruptKey ?? null };
  port!.postMessage(event);
}

/**
 * A deferred release: rolls back and restores the base mode; a connection its last user changed (a setting, a temp
 * object, an attachment), or that could not be reset, is closed and opened afresh here, so nothing of it reaches
 * the next user.
 */
function resetForNextUser(): void {
  cursor = undefined;
  let clean = false;
  try {
    clean = current().reset();
  } catch {
    clean = false; // e.g. the previous user's interrupt landed on the reset: start afresh rather than guess
  }
  if (clean) return;
  const { engine, options } = opened!;
  try {
    connection?.close();
  } catch {
    // the connection is being replaced either way
  }
  connection = undefined;
  connection = engine.open(options);
  announceKey();
}

function handle(request: HostRequest): void {
  try {
    if (request.reset === true && request.op !== "close") resetForNextUser();
    reply(request.id, true, run(request));
  } catch (error) {
    if (request.op === "cursor-next") cursor = undefined;
    reply(request.id, false, error);
  }
}

async function open(request: Extract<HostRequest, { op: "open" }>): Promise<void> {
  try {
    if (connection) throw new DriverError("OPEN_FAILED", "This worker already hosts a connection");
    let engine = engines.get(request.engine);
    if (!engine) {
      engine = (await import(request.engine)) as EngineModule;
      if (typeof engine.open !== "function") throw new Error(`${request.engine} does not export open()`);
      engines.set(request.engine, engine);
    }
    connection = engine.open(request.options);
    opened = { engine, options: request.options };
    announceKey();
    reply(request.id, true, undefined);
  } catch (error) {
    reply(request.id, false, error instanceof DriverError ? error : new DriverError("OPEN_FAILED", String(error instanceof Error ? error.message : error)));
  }
}

/** Holds later requests (in order) until `pending` settles. */
function hold(pending: Promise<void>): void {
  queue = [];
  void pending
    .catch(() => undefined)
    .then(() => {
      const waiting = queue ?? [];
      queue = undefined;
      for (const next of waiting) dispatch(next);
    });
}

function dispatch(request: HostRequest): void {
  if (queue) {
    queue.push(request);
    return;
  }
  if (request.op === "open") {
    hold(open(request));
    return;
  }
  handle(request);
  let pending: Promise<void> | undefined;
  try {
    pending = connection?.settle?.();
  } catch {
    pending = undefined;
  }
  if (pending) hold(pending);
}

port.on("message", dispatch);
