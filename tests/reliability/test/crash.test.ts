/**
 * Crash: the `hranad` bin runs the transfer load and is killed with SIGKILL mid-run, then restarted on the same
 * data directory. Every transfer a client saw committed is in the ledger, nothing a client saw fail is, the
 * database passes `PRAGMA integrity_check`, and the invariant (total, every balance explained by the ledger) holds.
 */
import { createClient } from "@libsql/client";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { HranadProcess, tempDir } from "./support/hranad-process.js";
import { pick, sleep, timeoutFor } from "./support/soak.js";
import { auditBank, createBank, runTransfers, TransferLog } from "./support/transfers.js";

const CYCLES = pick(3, 20);
const ACCOUNTS = 8;
const dataDir = tempDir("crash");

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe("kill -9 under load", () => {
  it(
    `loses no committed transfer and keeps the database sound across ${CYCLES} kills`,
    async () => {
      let server = await HranadProcess.start({}, dataDir);
      const setup = createClient({ url: server.url });
      await createBank(setup, ACCOUNTS);
      setup.close();
      const log = new TransferLog();
      const lossCodes = new Map<string, number>();
      try {
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          let killed = false;
          const stop = new AbortController();
          const load = runTransfers(
            { httpUrl: server.url, wsUrl: server.wsUrl, clients: 16, accounts: ACCOUNTS, durationMs: 30_000, maxAttempts: Number.MAX_SAFE_INTEGER, transferTimeoutMs: 30_000, seed: 1000 * cycle, idPrefix: `c${cycle}-`, stop: stop.signal },
            log,
            (error) => {
              if (!killed) return false;
              const code = (error as { code?: unknown }).code;
              lossCodes.set(String(code), (lossCodes.get(String(code)) ?? 0) + 1);
              return true;
            },
          );
          // Let some transfers commit, then kill at a moment that varies from cycle to cycle.
          const committedBefore = log.committed.size;
          const deadline = Date.now() + 20_000;
          while (log.committed.size < committedBefore + 30 && Date.now() < deadline) await sleep(20);
          await sleep(137 * (cycle % 5));
          killed = true;
          await server.kill9();
          stop.abort();
          await load;
          expect(server.child.signalCode).toBe("SIGKILL");
          server = await HranadProcess.start({}, dataDir);
          const check = createClient({ url: server.url });
          try {
            expect((await check.execute("PRAGMA integrity_check")).rows[0]![0]).toBe("ok");
            const audit = await auditBank(check, ACCOUNTS, log);
            expect(audit.problems, `cycle ${cycle}`).toEqual([]);
          } finally {
            check.close();
          }
        }
        const final = createClient({ url: server.url });
        const audit = await auditBank(final, ACCOUNTS, log);
        final.close();
        console.log(
          `[crash] ${CYCLES} kills: ${log.summary()}; ledger ${audit.ledgerRows} rows (${audit.ledgerRows - log.committed.size} of the ${log.unknown.size} unknown commits landed); total ${audit.total}; errors after the kills: ${[...lossCodes].map(([c, n]) => `${c}×${n}`).join(" ")}`,
        );
        expect(log.hangs).toEqual([]);
        expect(log.unnamed).toEqual([]);
        expect(log.committed.size).toBeGreaterThanOrEqual(30 * CYCLES);
      } finally {
        await server.dispose(false);
      }
    },
    timeoutFor(CYCLES * 30_000),
  );
});
