import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { Driver } from "@hranad/driver";
import { createThreadedDriver, WorkerPool } from "../src/index.js";

const engineModule = new URL("./fixtures/echo-engine.mjs", import.meta.url);
const capabilities = { changesets: false, statementDeadline: false, readOnlyGuard: false };

function echoDriver(workerPool: WorkerPool, closeTimeoutMs?: number): Driver {
  return createThreadedDriver({ name: "echo", capabilities, engineModule, workerPool, closeTimeoutMs });
}

describe("worker host", () => {
  it("runs requests of one connection in order and carries values across threads", async () => {
    const pool = await echoDriver(new WorkerPool()).open({ path: "/nowhere/a.db", mode: "create" });
    const c = await pool.acquire();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => c.execute({ sql: `q${i}`, args: [BigInt(i), new Uint8Array([i])] })),
    );
    results.forEach((result, i) => {
      expect(result.rows[0]?.[0]).toBe(`q${i}`);
      expect(result.rows[0]?.[1]).toBe(BigInt(i));
      expect(Array.from(result.rows[0]?.[2] as Uint8Array)).toEqual([i]);
    });
    await c.release();
    await pool.close();
  });

  it("makes interrupt() a no-op for an engine without an interrupt key", async () => {
    const pool = await echoDriver(new WorkerPool()).open({ path: "/nowhere/i.db", mode: "create" });
    const c = await pool.acquire();
    const stalled = c.execute({ sql: "stall" });
    c.interrupt();
    expect((await stalled).rows).toEqual([["stall"]]);
    await c.release();
    c.interrupt();
    await pool.close();
  });

  it("rebuilds engine errors and keeps the autocommit state of every reply", async () => {
    const pool = await echoDriver(new WorkerPool()).open({ path: "/nowhere/b.db", mode: "create" });
    const c = await pool.acquire();
    await c.execute({ sql: "begin" });
    expect(c.autocommit).toBe(false);
    await expect(c.execute({ sql: "fail" })).rejects.toMatchObject({
      name: "SqliteError",
      code: "SQLITE_CONSTRAINT",
      extendedCode: "SQLITE_CONSTRAINT_UNIQUE",
      rawCode: 2067,
    });
    expect(c.autocommit).toBe(false);
    await c.release();
    const next = await pool.acquire();
    expect(next.autocommit).toBe(true);
    await next.release();
    await pool.close();
  });

  it("fails the open with the engine's OPEN_FAILED and gives the worker back", async () => {
    const workers = new WorkerPool();
    await expect(echoDriver(workers).open({ path: "/nowhere/refuse.db", mode: "create" })).rejects.toMatchObject({
      code: "OPEN_FAILED",
    });
    expect(workers.stats()).toMatchObject({ idle: 1, busy: 0, spawned: 1 });
    workers.close();
  });

  it("fails in-flight calls with WORKER_FAILED when the worker dies, and replaces the connection", async () => {
    const workers = new WorkerPool();
    const pool = await echoDriver(workers).open({ path: "/nowhere/c.db", mode: "create", maxConnections: 1 });
    const c = await pool.acquire();
    const pending = c.execute({ sql: "echo" });
    await expect(c.execute({ sql: "crash" })).rejects.toMatchObject({ name: "DriverError", code: "WORKER_FAILED" });
    await pending;
    await expect(c.execute({ sql: "echo" })).rejects.toMatchObject({ code: "WORKER_FAILED" });
    await c.release();
    expect(workers.stats().failed).toBe(1);
    const next = await pool.acquire();
    expect(next.id).not.toBe(c.id);
    expect((await next.execute({ sql: "alive" })).rows).toEqual([["alive"]]);
    await next.release();
    await pool.close();
  });

  it("replaces an idle connection whose worker died", async () => {
    const workers = new WorkerPool();
    const pool = await echoDriver(workers).open({ path: "/nowhere/h.db", mode: "create", maxConnections: 1 });
    const c = await pool.acquire();
    await c.execute({ sql: "crash-later" });
    await c.release();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(workers.stats().failed).toBe(1);
    const next = await pool.acquire();
    expect(next.id).not.toBe(c.id);
    expect((await next.execute({ sql: "alive" })).rows).toEqual([["alive"]]);
    await next.release();
    await pool.close();
  });

  it("keeps workers warm across pools up to maxIdle", async () => {
    const workers = new WorkerPool({ maxIdle: 2 });
    const driver = echoDriver(workers);
    const first = await driver.open({ path: "/nowhere/d.db", mode: "create", maxConnections: 3 });
    const leases = await Promise.all([first.acquire(), first.acquire(), first.acquire()]);
    expect(workers.stats()).toMatchObject({ busy: 3, spawned: 3 });
    await Promise.all(leases.map((lease) => lease.release()));
    await first.close();
    expect(workers.stats()).toMatchObject({ idle: 2, busy: 0, spawned: 3 });
    const second = await driver.open({ path: "/nowhere/e.db", mode: "create" });
    expect(workers.stats()).toMatchObject({ idle: 1, busy: 1, spawned: 3 });
    await second.close();
    workers.close();
    expect(workers.stats().idle).toBe(0);
  });

  it("prewarms workers", async () => {
    const workers = new WorkerPool({ maxIdle: 2 });
    await workers.prewarm(5);
    expect(workers.stats()).toMatchObject({ idle: 2, spawned: 2 });
    workers.close();
  });

  it("closes by force after the close timeout, invalidating leases still held", async () => {
    const pool = await echoDriver(new WorkerPool(), 100).open({ path: "/nowhere/f.db", mode: "create" });
    const c = await pool.acquire();
    await pool.close();
    await expect(c.execute({ sql: "late" })).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
    await c.release();
  });

  it("never keeps the process alive, yet keeps it alive while a call is in flight", () => {
    const script = `
      import { createThreadedDriver } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      const driver = createThreadedDriver({ name: "echo", capabilities: {}, engineModule: ${JSON.stringify(engineModule.href)} });
      const pool = await driver.open({ path: "/nowhere/g.db", mode: "create" });
      const c = await pool.acquire();
      const result = await c.execute({ sql: "stall" });
      console.log("answered", result.rows[0][0]);
      // neither released nor closed: the process must still exit on its own
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("answered stall");
    expect(run.status).toBe(0);
  });
});
