import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Driver, OpenOptions, Pool } from "@hranad/driver";
import { betterSqlite3Driver } from "@hranad/driver-better-sqlite3";
import { RegistryError, type RegistryErrorCode } from "../src/index.js";

export const realDriver: Driver = betterSqlite3Driver;

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "hranad-registry-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The real driver, counting its opens and able to hold them at a gate (to observe a pending open). */
export class GatedDriver implements Driver {
  readonly name: string;
  readonly capabilities: Driver["capabilities"];
  readonly opened: OpenOptions[] = [];
  #gate: Promise<void> | undefined;
  #openGate: (() => void) | undefined;

  constructor(readonly inner: Driver = realDriver, name = inner.name) {
    this.name = name;
    this.capabilities = inner.capabilities;
  }

  /** Until `openGate` is called, opens wait before reaching the real driver. */
  closeGate(): void {
    this.#gate = new Promise((resolve) => (this.#openGate = resolve));
  }

  openGate(): void {
    this.#openGate?.();
    this.#gate = undefined;
  }

  async open(options: OpenOptions): Promise<Pool> {
    this.opened.push(options);
    await this.#gate;
    return this.inner.open(options);
  }
}

/** The RegistryError code a promise (or function) fails with. */
export async function failureCode(action: Promise<unknown> | (() => unknown)): Promise<RegistryErrorCode> {
  try {
    await (typeof action === "function" ? action() : action);
  } catch (error) {
    if (error instanceof RegistryError) return error.code;
    throw error;
  }
  throw new Error("expected a RegistryError");
}

/** The RegistryError itself, for checks on its message. */
export async function failure(action: Promise<unknown> | (() => unknown)): Promise<RegistryError> {
  try {
    await (typeof action === "function" ? action() : action);
  } catch (error) {
    if (error instanceof RegistryError) return error;
    throw error;
  }
  throw new Error("expected a RegistryError");
}

/** Whether a promise is still pending after the event loop has had a chance to settle it. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  return !settled;
}
