/**
 * Graceful shutdown: SIGTERM to the `hranad` bin while transfers run and interactive transactions are parked
 * open (over HTTP and WebSocket, on three databases). It exits 0 within a bound, the parked transactions are
 * rolled back (their rows absent after a restart), every WAL is checkpointed (`-wal` empty or gone), and no
 * transfer a client saw committed is lost.
 */
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, describe, expect, it } from "vitest";
import { close, execute, post, scalar, text } from "./support/hrana-http.js";
import { HranadProcess, tempDir, type HranadConfig } from "./support/hranad-process.js";
import { pick, sleep, timeoutFor } from "./support/soak.js";
import { auditBank, createBank, runTransfers, TransferLog } from "./support/transfers.js";

const ACCOUNTS = 8;
const EXIT_BOUND_MS = 15_000;
const ROUNDS = pick(2, 10);
const CONFIG: HranadConfig = {
  databases: [
    { name: "default", mode: "create" },
    { name: "other", mode: "create" },
    { name: "third", mode: "create", driver: "libsql" },
  ],
};
const dataDir = tempDir("shutdown");

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function walBytes(database: string): number {
  const wal = join(dataDir, `${database}.db-wal`);
  return existsSync(wal) ? statSync(wal).size : 0;
}

describe("SIGTERM under load", () => {
  it(
    `exits 0 within ${EXIT_BOUND_MS / 1000} s, rolls back open transactions, checkpoints, loses no commit (${ROUNDS} rounds)`,
    async () => {
      let server = await HranadProcess.start(CONFIG, dataDir);
      const setup = createClient({ url: server.url });
      await createBank(setup, ACCOUNTS);
      setup.close();
      for (const db of ["other", "third"]) {
        const answer = await post(`${server.url}/${db}/v2/pipeline`, { requests: [execute("CREATE TABLE marks (v TEXT)"), execute("INSERT INTO marks VALUES ('committed-before')"), close] });
        expect(answer.json.results.map((r: any) => r.type)).toEqual(["ok", "ok", "ok"]);
      }
      const log = new TransferLog();
      const afterSignal = new Map<string, number>();
      try {
        for (let round = 0; round < ROUNDS; round++) {
          // Parked: a write transaction over HTTP on "other", one over WebSocket on "third", a read snapshot on "default".
          const parkedHttp = await post(`${server.url}/other/v2/pipeline`, { requests: [execute("BEGIN IMMEDIATE"), execute("INSERT INTO marks VALUES (?)", [text(`parked-http-${round}`)])] });
          expect(parkedHttp.json.results.map((r: any) => r.type)).toEqual(["ok", "ok"]);
          const wsClient = createClient({ url: `${server.wsUrl}/third` });
          const parkedWs = await wsClient.transaction("write");
          await parkedWs.execute({ sql: "INSERT INTO marks VALUES (?)", args: [`parked-ws-${round}`] });
          const reader = await post(`${server.url}/v2/pipeline`, { requests: [execute("BEGIN"), execute("SELECT count(*) FROM ledger")] });
          expect(reader.json.results[1].type).toBe("ok");

          let terminated = false;
          const stop = new AbortController();
          const load = runTransfers(
            { httpUrl: server.url, wsUrl: server.wsUrl, clients: 16, accounts: ACCOUNTS, durationMs: 60_000, maxAttempts: Number.MAX_SAFE_INTEGER, transferTimeoutMs: 30_000, seed: round, idPrefix: `r${round}-`, stop: stop.signal },
            log,
            (error) => {
              if (!terminated) return false;
              // After SIGTERM: a refusal that names the shutdown is a definite answer; anything else is a lost connection.
              const code = String((error as { code?: unknown }).code);
              afterSignal.set(code, (afterSignal.get(code) ?? 0) + 1);
              return code !== "SERVER_SHUTTING_DOWN";
            },
          );
          const target = log.committed.size + 40;
          const deadline = Date.now() + 20_000;
          while (log.committed.size < target && Date.now() < deadline) await sleep(20);

          terminated = true;
          const signalled = Date.now();
          const exit = await Promise.race([server.terminate(), sleep(EXIT_BOUND_MS).then(() => undefined)]);
          const exitMs = Date.now() - signalled;
          stop.abort();
          await load;
          wsClient.close();
          expect(exit, `hranad did not exit within ${EXIT_BOUND_MS} ms of SIGTERM: ${server.output()}\n${server.stderr}`).toEqual({ code: 0, signal: null });
          expect(server.output()).toMatch(/SIGTERM: shutting down[\s\S]*stopped/);
          // Checkpointed on the way out.
          const wal = { default: walBytes("default"), other: walBytes("other"), third: walBytes("third") };
          expect(wal).toEqual({ default: 0, other: 0, third: 0 });
          console.log(`[shutdown] round ${round}: exited ${exit?.code} in ${exitMs} ms; -wal sizes ${JSON.stringify(wal)}`);

          server = await HranadProcess.start(CONFIG, dataDir);
          for (const db of ["other", "third"]) {
            const marks = await post(`${server.url}/${db}/v2/pipeline`, { requests: [execute("SELECT group_concat(v) FROM marks"), execute("PRAGMA integrity_check"), close] });
            expect(scalar(marks), db).toBe("committed-before");
            expect(scalar(marks, 1)).toBe("ok");
          }
          const check = createClient({ url: server.url });
          try {
            expect((await check.execute("PRAGMA integrity_check")).rows[0]![0]).toBe("ok");
            const audit = await auditBank(check, ACCOUNTS, log);
            expect(audit.problems, `round ${round}`).toEqual([]);
          } finally {
            check.close();
          }
        }
        console.log(`[shutdown] ${ROUNDS} rounds: ${log.summary()}; errors after SIGTERM: ${[...afterSignal].map(([c, n]) => `${c}×${n}`).join(" ")}`);
        expect(log.hangs).toEqual([]);
        expect(log.unnamed).toEqual([]);
      } finally {
        await server.dispose(false);
      }
    },
    timeoutFor(ROUNDS * 45_000),
  );
});
