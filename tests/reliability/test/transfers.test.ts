/**
 * Concurrency invariant: 32 `@libsql/client`s (16 over HTTP, 16 over WebSocket) run interactive transfer
 * transactions between a few accounts, all contending for the write lock. The total never changes, every balance
 * is explained by the ledger (no lost update), every transfer a client saw committed is there and no other,
 * contention shows only as named retryable errors, nothing hangs, and the live sessions go back to 0.
 */
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcess, type InProcessServer } from "./support/in-process.js";
import { pick, sleep, timeoutFor } from "./support/soak.js";
import { auditBank, createBank, runTransfers, TransferLog } from "./support/transfers.js";

const CLIENTS = 32;
const ACCOUNTS = 8;
const DURATION_MS = pick(12_000, 300_000);

let server: InProcessServer;

beforeAll(async () => {
  // The shipped limits (16 connections, 5 s busy timeout, 10 s idle timeout): contention as a user would meet it. The
  // 32 clients connect from one address, so that one address may have as many streams as the database.
  server = await startInProcess({ limits: { maxSessionsPerClient: 128 } });
});
afterAll(async () => {
  await server?.close();
});

describe("transfers under contention", () => {
  it(
    `keeps the total and the ledger exact with ${CLIENTS} clients for ${DURATION_MS / 1000} s`,
    async () => {
      const setup = createClient({ url: server.url });
      await createBank(setup, ACCOUNTS);
      const log = new TransferLog();
      const sessionsSeen: number[] = [];
      const sampler = setInterval(() => sessionsSeen.push(server.server.store.count()), 250);
      const started = Date.now();
      try {
        await runTransfers(
          { httpUrl: server.url, wsUrl: server.wsUrl, clients: CLIENTS, accounts: ACCOUNTS, durationMs: DURATION_MS, maxAttempts: pick(20_000, 1_000_000), transferTimeoutMs: 30_000, seed: 42 },
          log,
        );
      } finally {
        clearInterval(sampler);
      }
      const seconds = (Date.now() - started) / 1000;
      const audit = await auditBank(setup, ACCOUNTS, log);
      setup.close();
      console.log(
        `[transfers] ${seconds.toFixed(1)} s: ${log.summary()}; ${(log.committed.size / seconds).toFixed(0)} commits/s; ledger ${audit.ledgerRows} rows; total ${audit.total}; live sessions peaked at ${Math.max(...sessionsSeen)}`,
      );
      expect(log.hangs).toEqual([]);
      expect(log.unnamed).toEqual([]);
      expect(audit.problems).toEqual([]);
      expect(log.unknown.size).toBe(0);
      expect(audit.ledgerRows).toBe(log.committed.size);
      // The workload really contended and really ran over both transports.
      expect(log.byTransport.http).toBeGreaterThan(10);
      expect(log.byTransport.ws).toBeGreaterThan(10);

      // Every client closed: the sessions go back to 0 (teardowns are asynchronous, hence the bounded wait).
      const deadline = Date.now() + 15_000;
      while (server.server.store.count() > 0 && Date.now() < deadline) await sleep(100);
      expect(server.server.store.count()).toBe(0);
    },
    timeoutFor(DURATION_MS),
  );
});
