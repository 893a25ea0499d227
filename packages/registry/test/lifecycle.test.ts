import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { isDriverError } from "@hranad/driver";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Registry, type DatabaseHandle } from "../src/index.js";
import { GatedDriver, failureCode, isPending, realDriver, tempDir } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
const registries: Registry[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  await Promise.all(registries.splice(0).map((registry) => registry.closeAll({ timeoutMs: 0 }).catch(() => undefined)));
  await cleanup();
});

function registry(options: Partial<ConstructorParameters<typeof Registry>[0]> = {}): Registry {
  const created = new Registry({
    dataDir: dir,
    drivers: [realDriver],
    databases: [{ name: "main", create: true }],
    ...options,
  });
  registries.push(created);
  return created;
}

async function query(handle: DatabaseHandle, sql: string): Promise<unknown[][]> {
  const connection = await handle.database.pool.acquire();
  try {
    const result = await connection.execute({ sql });
    return result.rows.map((row) => [...row]);
  } finally {
    await connection.release();
  }
}

describe("get", () => {
  it("opens a database lazily, on first get, and serves SQL through its pool", async () => {
    const driver = new GatedDriver();
    const reg = registry({ drivers: [driver] });
    expect(driver.opened).toHaveLength(0);
    expect(existsSync(join(dir, "main.db"))).toBe(false);
    expect(reg.stats().databases[0]).toMatchObject({ name: "main", state: "closed", handles: 0, pool: null });

    const handle = await reg.get("main");
    expect(driver.opened).toHaveLength(1);
    expect(existsSync(join(dir, "main.db"))).toBe(true);
    expect(handle.database).toMatchObject({ name: "main", mode: "create", readOnly: false, driver });
    await query(handle, "CREATE TABLE t (x)");
    await query(handle, "INSERT INTO t VALUES (42)");
    expect(await query(handle, "SELECT x FROM t")).toEqual([[42n]]);
    handle.release();
  });

  it("shares ONE pool, opened once, between many concurrent first gets", async () => {
    const driver = new GatedDriver();
    const reg = registry({ drivers: [driver] });
    driver.closeGate();
    const pending = Array.from({ length: 40 }, () => reg.get("main"));
    expect(reg.stats().databases[0]).toMatchObject({ state: "opening", handles: 40 });
    driver.openGate();
    const handles = await Promise.all(pending);
    expect(driver.opened).toHaveLength(1);
    expect(new Set(handles.map((h) => h.database.pool)).size).toBe(1);
    expect(reg.stats().databases[0]).toMatchObject({ state: "open", handles: 40 });

    // Gets after the open reuse the same pool too.
    const later = await Promise.all(Array.from({ length: 10 }, () => reg.get("main")));
    expect(later.every((h) => h.database.pool === handles[0]!.database.pool)).toBe(true);
    expect(driver.opened).toHaveLength(1);

    for (const handle of [...handles, ...later]) handle.release();
    expect(reg.stats().databases[0]!.handles).toBe(0);
  });

  it("counts a double release once", async () => {
    const reg = registry();
    const a = await reg.get("main");
    const b = await reg.get("main");
    expect(reg.stats().databases[0]!.handles).toBe(2);
    a.release();
    a.release();
    a.release();
    expect(a.released).toBe(true);
    expect(b.released).toBe(false);
    expect(reg.stats().databases[0]!.handles).toBe(1);
    // b still holds the database: it cannot be detached under it.
    expect(await failureCode(reg.detach("main", { timeoutMs: 30 }))).toBe("DATABASE_BUSY");
    b.release();
    await reg.detach("main");
    expect(reg.has("main")).toBe(false);
  });

  it("refuses an unknown database with DATABASE_NOT_FOUND", async () => {
    const reg = registry();
    expect(await failureCode(reg.get("nope"))).toBe("DATABASE_NOT_FOUND");
    expect(await failureCode(reg.checkpoint("nope"))).toBe("DATABASE_NOT_FOUND");
    expect(await failureCode(reg.detach("nope"))).toBe("DATABASE_NOT_FOUND");
  });

  it("is aborted by its AbortSignal while the open is pending; the shared open goes on", async () => {
    const driver = new GatedDriver();
    const reg = registry({ drivers: [driver] });
    driver.closeGate();
    const controller = new AbortController();
    const aborted = reg.get("main", controller.signal);
    const patient = reg.get("main");
    expect(await isPending(aborted)).toBe(true);
    expect(reg.stats().databases[0]!.handles).toBe(2);

    controller.abort(new Error("client went away"));
    expect(await failureCode(aborted)).toBe("ABORTED");
    expect(reg.stats().databases[0]!.handles).toBe(1);

    driver.openGate();
    const handle = await patient;
    expect(driver.opened).toHaveLength(1);
    expect(await query(handle, "SELECT 1")).toEqual([[1n]]);
    handle.release();
    expect(reg.stats().databases[0]!.handles).toBe(0);
  });

  it("refuses at once with an already aborted signal, and takes no handle", async () => {
    const reg = registry();
    expect(await failureCode(reg.get("main", AbortSignal.abort()))).toBe("ABORTED");
    expect(reg.stats().databases[0]).toMatchObject({ handles: 0, state: "closed" });
  });

  it("forgets a failed open, so a later get tries again", async () => {
    const reg = registry({ databases: [{ name: "late" }] });
    expect(await failureCode(reg.get("late"))).toBe("DATABASE_OPEN_FAILED");
    expect(reg.stats().databases[0]).toMatchObject({ state: "closed", handles: 0 });
    // Someone creates the file meanwhile (another registry in create mode).
    const creator = registry({ databases: [{ name: "late", create: true }] });
    (await creator.get("late")).release();
    await creator.closeAll();
    const handle = await reg.get("late");
    expect(await query(handle, "SELECT 2")).toEqual([[2n]]);
    handle.release();
  });
});

describe("detach", () => {
  it("waits for the handles out, refuses new gets meanwhile, then closes the pool", async () => {
    const reg = registry();
    const handle = await reg.get("main");
    const pool = handle.database.pool;
    const detaching = reg.detach("main", { timeoutMs: 10_000 });
    expect(await isPending(detaching)).toBe(true);
    expect(reg.stats().databases[0]!.state).toBe("detaching");
    expect(await failureCode(reg.get("main"))).toBe("DATABASE_BUSY");
    // The handle still works while the detach waits.
    expect(await query(handle, "SELECT 3")).toEqual([[3n]]);

    handle.release();
    await detaching;
    expect(reg.has("main")).toBe(false);
    expect(reg.names()).toEqual([]);
    expect(await failureCode(reg.get("main"))).toBe("DATABASE_NOT_FOUND");
    await expect(pool.acquire()).rejects.toSatisfy((error) => isDriverError(error, "POOL_CLOSED"));
  });

  it("times out with DATABASE_BUSY and leaves the database attached and usable", async () => {
    const reg = registry();
    const handle = await reg.get("main");
    expect(await failureCode(reg.detach("main", { timeoutMs: 20 }))).toBe("DATABASE_BUSY");
    expect(reg.has("main")).toBe(true);
    expect(reg.stats().databases[0]!.state).toBe("open");
    const second = await reg.get("main");
    expect(second.database.pool).toBe(handle.database.pool);
    expect(await query(second, "SELECT 4")).toEqual([[4n]]);
    second.release();
    handle.release();
  });

  it("of a database never opened removes it without opening it", async () => {
    const driver = new GatedDriver();
    const reg = registry({ drivers: [driver] });
    await reg.detach("main");
    expect(reg.has("main")).toBe(false);
    expect(driver.opened).toHaveLength(0);
    expect(existsSync(join(dir, "main.db"))).toBe(false);
  });

  it("waits for an open whose get was aborted before closing its pool", async () => {
    const driver = new GatedDriver();
    const reg = registry({ drivers: [driver] });
    driver.closeGate();
    const controller = new AbortController();
    const get = reg.get("main", controller.signal);
    await isPending(get);
    controller.abort();
    expect(await failureCode(get)).toBe("ABORTED");
    const detaching = reg.detach("main");
    expect(await isPending(detaching)).toBe(true);
    driver.openGate();
    await detaching;
    expect(reg.has("main")).toBe(false);
  });

  it("lets a database be attached again at run time", async () => {
    const reg = registry();
    (await reg.get("main")).release();
    await reg.detach("main");
    reg.attach({ name: "main" }); // now readwrite: the file exists
    reg.attach({ name: "second", path: "sub/second.db", mode: "create" });
    expect(reg.names()).toEqual(["main", "second"]);
    const handle = await reg.get("second");
    expect(existsSync(join(dir, "sub", "second.db"))).toBe(true);
    handle.release();
    expect(await failureCode(() => reg.attach({ name: "main" }))).toBe("DATABASE_EXISTS");
  });
});

describe("checkpoint", () => {
  it("TRUNCATE leaves a 0-byte -wal file", async () => {
    const reg = registry();
    const handle = await reg.get("main");
    await query(handle, "CREATE TABLE t (x)");
    await query(handle, "WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM c WHERE v < 500) INSERT INTO t SELECT v FROM c");
    const wal = join(dir, "main.db-wal");
    expect(statSync(wal).size).toBeGreaterThan(0);

    const result = await reg.checkpoint("main");
    expect(result.busy).toBe(0);
    expect(statSync(wal).size).toBe(0);
    expect(await query(handle, "SELECT count(*) FROM t")).toEqual([[500n]]);
    handle.release();
    expect(reg.stats().databases[0]!.handles).toBe(0);
  });
});

describe("closeAll", () => {
  it("refuses new gets at once, waits for every handle, then closes the pools", async () => {
    const reg = registry({ databases: [{ name: "a", create: true }, { name: "b", create: true }] });
    const a = await reg.get("a");
    const b = await reg.get("b");
    const closing = reg.closeAll({ timeoutMs: 10_000 });
    expect(await failureCode(reg.get("a"))).toBe("REGISTRY_CLOSED");
    expect(await failureCode(() => reg.attach({ name: "c" }))).toBe("REGISTRY_CLOSED");
    expect(await isPending(closing)).toBe(true);
    a.release();
    expect(await isPending(closing)).toBe(true);
    b.release();
    await closing;
    await expect(a.database.pool.acquire()).rejects.toSatisfy((error) => isDriverError(error, "POOL_CLOSED"));
    await expect(b.database.pool.acquire()).rejects.toSatisfy((error) => isDriverError(error, "POOL_CLOSED"));
    expect(reg.stats()).toMatchObject({ closed: true });
    expect(await failureCode(reg.get("b"))).toBe("REGISTRY_CLOSED");
  });

  it("is bounded: rejects with DATABASE_BUSY naming the busy database, closes the rest, and can be retried", async () => {
    const reg = registry({ databases: [{ name: "busy", create: true }, { name: "idle", create: true }] });
    const busy = await reg.get("busy");
    const idle = await reg.get("idle");
    idle.release();
    const error = await failureCode(reg.closeAll({ timeoutMs: 20 }));
    expect(error).toBe("DATABASE_BUSY");
    await expect(idle.database.pool.acquire()).rejects.toSatisfy((e) => isDriverError(e, "POOL_CLOSED"));
    expect(await query(busy, "SELECT 5")).toEqual([[5n]]); // still open under its handle
    busy.release();
    await reg.closeAll();
    await expect(busy.database.pool.acquire()).rejects.toSatisfy((e) => isDriverError(e, "POOL_CLOSED"));
  });

  it("leaves the data behind, checkpointed, for the next registry", async () => {
    const first = registry();
    const handle = await first.get("main");
    await query(handle, "CREATE TABLE t (x)");
    await query(handle, "INSERT INTO t VALUES ('kept')");
    handle.release();
    await first.closeAll();
    const wal = join(dir, "main.db-wal");
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
    const second = registry({ databases: [{ name: "main" }] });
    const again = await second.get("main");
    expect(await query(again, "SELECT x FROM t")).toEqual([["kept"]]);
    again.release();
  });
});
