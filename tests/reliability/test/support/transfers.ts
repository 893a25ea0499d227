import { createClient, type Client } from "@libsql/client";
import { Random } from "./mutate.js";
import { within } from "./soak.js";

/**
 * The bank workload of the transfers, crash and shutdown suites: interactive `transaction("write")`s that read two
 * balances, move a random amount with absolute `SET balance = ?` writes (so a lost update changes the total), and
 * record the transfer in a ledger, all in one transaction. The client side remembers what it saw happen to every
 * transfer, so the database can be checked against it.
 */

export const INITIAL_BALANCE = 1000;

/** Codes that contention may legitimately produce; the client retries the transfer. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  "SQLITE_BUSY",
  "TRANSACTION_TIMEOUT",
  "TRANSACTION_ABORTED",
  "STREAM_EXPIRED",
  "POOL_TIMEOUT",
  "TOO_MANY_SESSIONS",
  "TOO_MANY_CLIENT_SESSIONS",
  "SERVER_SHUTTING_DOWN",
]);

export async function createBank(client: Client, accounts: number): Promise<void> {
  await client.batch(
    [
      "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
      "CREATE TABLE ledger (id TEXT PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, amount INTEGER NOT NULL)",
      ...Array.from({ length: accounts }, (_, i) => ({ sql: "INSERT INTO accounts VALUES (?, ?)", args: [i, INITIAL_BALANCE] })),
    ],
    "write",
  );
}

export interface TransferOptions {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Half over HTTP, half over WebSocket. */
  readonly clients: number;
  readonly accounts: number;
  /** Stop starting transfers after this long. */
  readonly durationMs: number;
  /** And after this many attempts in all. */
  readonly maxAttempts: number;
  /** Bound on one whole transfer (begin to commit): nothing may hang. */
  readonly transferTimeoutMs: number;
  readonly seed: number;
  /** Prefix of the transfer ids (unique across runs that share a log). */
  readonly idPrefix?: string;
  /** Stops starting transfers at once (the crash and shutdown suites). */
  readonly stop?: AbortSignal;
}

/** What the clients saw. */
export class TransferLog {
  /** Commit answered OK. */
  readonly committed = new Set<string>();
  /** Failed before COMMIT was sent, or COMMIT answered with an error: must not be in the ledger. */
  readonly failed = new Set<string>();
  /** COMMIT sent, no answer (the connection died): may or may not be in the ledger. */
  readonly unknown = new Set<string>();
  /** Error codes seen, retryable or not. */
  readonly codes = new Map<string, number>();
  /** Errors without a named retryable code, with what the client was doing. */
  readonly unnamed: string[] = [];
  /** Transfers that did not finish within the bound. */
  readonly hangs: string[] = [];
  attempts = 0;
  byTransport = { http: 0, ws: 0 };

  count(code: string): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
  }

  summary(): string {
    const codes = [...this.codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}×${n}`).join(" ") || "none";
    return `${this.attempts} attempts: ${this.committed.size} committed (http ${this.byTransport.http}, ws ${this.byTransport.ws}), ${this.failed.size} failed, ${this.unknown.size} unknown; errors ${codes}`;
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : `(no code: ${(error as Error).message?.slice(0, 160)})`;
}

/**
 * Runs `clients` concurrent clients until `durationMs`, `maxAttempts` or `stop`. `isTransportLoss(error)` tells
 * a lost connection (the crash suites) from a real failure; a COMMIT lost that way is `unknown`, not `failed`.
 */
export async function runTransfers(options: TransferOptions, log: TransferLog, isTransportLoss: (error: unknown) => boolean = () => false): Promise<void> {
  const started = Date.now();
  const clients: { client: Client; transport: "http" | "ws" }[] = Array.from({ length: options.clients }, (_, i) => {
    const transport = i % 2 === 0 ? "http" : "ws";
    return { client: createClient({ url: transport === "http" ? options.httpUrl : options.wsUrl }), transport };
  });
  const more = () => Date.now() - started < options.durationMs && log.attempts < options.maxAttempts && options.stop?.aborted !== true;
  try {
    await Promise.all(
      clients.map(async ({ client, transport }, index) => {
        const random = new Random(options.seed + index * 7919);
        for (let n = 0; more(); n++) {
          log.attempts++;
          const id = `${options.idPrefix ?? ""}${index}-${n}`;
          const state = { commitSent: false, done: false };
          const transfer = oneTransfer(client, id, random, options.accounts, state);
          try {
            await within(transfer, options.transferTimeoutMs, `transfer ${id} (${transport})`);
            log.committed.add(id);
            log.byTransport[transport]++;
          } catch (error) {
            if (!state.done && (error as Error).message?.includes("did not finish within")) {
              log.hangs.push(`${id} over ${transport}: ${(error as Error).message}`);
              log.unknown.add(id);
              continue;
            }
            const code = codeOf(error);
            const lost = isTransportLoss(error);
            log.count(code);
            if (state.commitSent && lost) log.unknown.add(id);
            else log.failed.add(id);
            if (!RETRYABLE_CODES.has(code) && !lost) {
              log.unnamed.push(`${id} over ${transport}${state.commitSent ? " (at COMMIT)" : ""}: ${code}: ${(error as Error).message?.slice(0, 200)}`);
            }
            // A lost server: stop this client rather than spin.
            if (lost) break;
          }
        }
      }),
    );
  } finally {
    for (const { client } of clients) client.close();
  }
}

async function oneTransfer(client: Client, id: string, random: Random, accounts: number, state: { commitSent: boolean; done: boolean }): Promise<void> {
  const src = random.int(accounts);
  const dst = (src + 1 + random.int(accounts - 1)) % accounts;
  const tx = await client.transaction("write");
  try {
    const from = Number((await tx.execute({ sql: "SELECT balance FROM accounts WHERE id = ?", args: [src] })).rows[0]![0]);
    const to = Number((await tx.execute({ sql: "SELECT balance FROM accounts WHERE id = ?", args: [dst] })).rows[0]![0]);
    const amount = Math.min(from, 1 + random.int(50));
    await tx.execute({ sql: "UPDATE accounts SET balance = ? WHERE id = ?", args: [from - amount, src] });
    await tx.execute({ sql: "UPDATE accounts SET balance = ? WHERE id = ?", args: [to + amount, dst] });
    await tx.execute({ sql: "INSERT INTO ledger VALUES (?, ?, ?, ?)", args: [id, src, dst, amount] });
    state.commitSent = true;
    await tx.commit();
  } finally {
    state.done = true;
    tx.close();
  }
}

/** What the database says, checked against what the clients saw. Returns the problems found. */
export async function auditBank(client: Client, accounts: number, log: TransferLog): Promise<{ problems: string[]; ledgerRows: number; total: number }> {
  const problems: string[] = [];
  const total = Number((await client.execute("SELECT sum(balance) FROM accounts")).rows[0]![0]);
  if (total !== accounts * INITIAL_BALANCE) problems.push(`the total is ${total}, not ${accounts * INITIAL_BALANCE}`);
  const count = Number((await client.execute("SELECT count(*) FROM accounts")).rows[0]![0]);
  if (count !== accounts) problems.push(`${count} accounts, not ${accounts}`);
  const negative = Number((await client.execute("SELECT count(*) FROM accounts WHERE balance < 0")).rows[0]![0]);
  if (negative > 0) problems.push(`${negative} negative balances`);
  const ledger = new Set((await client.execute("SELECT id FROM ledger")).rows.map((row) => String(row[0])));
  for (const id of log.committed) if (!ledger.has(id)) problems.push(`committed transfer ${id} is missing from the ledger`);
  for (const id of ledger) if (!log.committed.has(id) && !log.unknown.has(id)) problems.push(`transfer ${id} is in the ledger, but its client saw it fail${log.failed.has(id) ? "" : " (never attempted?)"}`);
  // Every balance is explained by the ledger: no lost update, no transfer applied twice or half.
  const balances = await client.execute(
    `SELECT a.id, a.balance, ${INITIAL_BALANCE} + coalesce((SELECT sum(amount) FROM ledger WHERE dst = a.id), 0) - coalesce((SELECT sum(amount) FROM ledger WHERE src = a.id), 0) AS expected FROM accounts a`,
  );
  for (const row of balances.rows) {
    if (Number(row[1]) !== Number(row[2])) problems.push(`account ${row[0]}: balance ${row[1]}, the ledger says ${row[2]}`);
  }
  return { problems: problems.slice(0, 20), ledgerRows: ledger.size, total };
}
