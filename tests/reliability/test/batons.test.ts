/**
 * Baton abuse: forged, truncated, re-encoded, replayed, concurrent, wrong database, expired, closed, busy, from
 * another server. Each is refused with its own code and status, the refusal never echoes the baton, and none of
 * them burns the owner's live baton: the owner's next request succeeds and its transaction is intact.
 */
import { protobuf } from "@hranad/hrana-protocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { close, execute, post, scalar, text, type HttpAnswer } from "./support/hrana-http.js";
import { startInProcess, type InProcessServer } from "./support/in-process.js";
import { pick, sleep } from "./support/soak.js";

let server: InProcessServer;
let url: string;

beforeAll(async () => {
  server = await startInProcess({ limits: { idleTimeoutMs: 1000 } });
  url = server.url;
  const setup = await post(`${url}/v2/pipeline`, { requests: [execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v)"), close] });
  expect(setup.json.results[0].type).toBe("ok");
});
afterAll(async () => {
  await server?.close();
});

/**
 * The owner: a stream holding an open write transaction with one uncommitted row. `check()` proves the baton
 * still works and the transaction is intact, and rotates the baton.
 */
class Owner {
  baton = "";
  readonly key: string;
  constructor(key: string) {
    this.key = key;
  }
  async open(): Promise<void> {
    const answer = await post(`${url}/v3/pipeline`, { requests: [execute("BEGIN IMMEDIATE"), execute("INSERT INTO kv VALUES (?, 1)", [text(this.key)])] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.results.map((r: any) => r.type)).toEqual(["ok", "ok"]);
    this.baton = answer.json.baton;
  }
  /** The owner's next request: its row is there, still uncommitted (not in autocommit). */
  async check(): Promise<void> {
    const answer = await post(`${url}/v3/pipeline`, {
      baton: this.baton,
      requests: [execute("SELECT count(*) FROM kv WHERE k = ?", [text(this.key)]), { type: "get_autocommit" }],
    });
    expect(answer.status, answer.text).toBe(200);
    expect(scalar(answer)).toBe("1");
    expect(answer.json.results[1].response.is_autocommit).toBe(false);
    expect(typeof answer.json.baton).toBe("string");
    expect(answer.json.baton).not.toBe(this.baton);
    this.baton = answer.json.baton;
  }
  async commit(): Promise<void> {
    const answer = await post(`${url}/v2/pipeline`, { baton: this.baton, requests: [execute("COMMIT"), close] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.results[0].type).toBe("ok");
    expect(answer.json.baton).toBeNull();
  }
}

/** The refusal's status, exact JSON content type, code, and that it does not echo the baton. */
function expectRefused(answer: HttpAnswer, status: number, code: string, baton: string): void {
  expect({ status: answer.status, code: answer.json?.code }, answer.text).toEqual({ status, code });
  expect(answer.type).toBe("application/json");
  expect(typeof answer.json.message).toBe("string");
  if (baton.length >= 8) expect(answer.text).not.toContain(baton);
}

const selectOne = { requests: [execute("SELECT 1")] };

/** Flips one character of a base64url string to another character of the alphabet. */
function flipChar(baton: string, at: number): string {
  const c = baton[at]!;
  return baton.slice(0, at) + (c === "A" ? "B" : "A") + baton.slice(at + 1);
}

describe("baton abuse", () => {
  it("refuses forged batons with BATON_INVALID and the owner's baton lives on", async () => {
    const owner = new Owner("forged");
    await owner.open();
    const random = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 37 + 11) & 0xff)).toString("base64url");
    const forgeries = [
      random,
      flipChar(owner.baton, owner.baton.length - 1), // MAC byte changed
      flipChar(owner.baton, 10), // session id changed
      flipChar(owner.baton, 30), // generation changed
      "",
      "nonsense",
      "x".repeat(10_000),
      "ü".repeat(60),
    ];
    for (const baton of forgeries) {
      expectRefused(await post(`${url}/v2/pipeline`, { baton, ...selectOne }), 400, "BATON_INVALID", baton);
      await owner.check();
    }
    // The same over protobuf: a protobuf Error with the code.
    const answer = await fetch(`${url}/v3-protobuf/pipeline`, { method: "POST", body: protobuf.encodePipelineReqBody({ baton: random, requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] }) });
    expect(answer.status).toBe(400);
    expect(answer.headers.get("content-type")).toBe("application/x-protobuf");
    expect(protobuf.decodeError(new Uint8Array(await answer.arrayBuffer())).code).toBe("BATON_INVALID");
    await owner.check();
    await owner.commit();
  });

  it("refuses truncated and re-encoded (padding, +/ alphabet, case) batons with BATON_INVALID", async () => {
    const owner = new Owner("reencoded");
    await owner.open();
    const variants = (baton: string): string[] => {
      const bytes = Buffer.from(baton, "base64url");
      const standard = bytes.toString("base64"); // `+`, `/` and `=` padding
      const out = [
        baton.slice(0, -1),
        baton.slice(0, -4),
        baton.slice(0, baton.length / 2),
        baton.slice(1),
        `${baton}=`,
        `${baton}==`,
        standard,
        standard.replace(/=+$/, ""),
        `${baton}A`,
        ` ${baton}`,
        `${baton}\n`,
        baton.toLowerCase(),
        baton.toUpperCase(),
      ];
      return out.filter((v) => v !== baton);
    };
    let refusals = 0;
    for (let round = 0; round < 3; round++) {
      for (const baton of variants(owner.baton)) {
        // The decoded bytes of a `+/`-only re-encoding are the same: a strict base64url decoder must still refuse.
        expectRefused(await post(`${url}/v2/pipeline`, { baton, ...selectOne }), 400, "BATON_INVALID", baton);
        refusals++;
      }
      await owner.check(); // rotates: the next round re-encodes a new baton
    }
    expect(refusals).toBeGreaterThanOrEqual(30);
    await owner.commit();
  });

  it("refuses a replayed baton with BATON_REUSED", async () => {
    const owner = new Owner("replayed");
    await owner.open();
    const old = [owner.baton];
    for (let i = 0; i < 3; i++) {
      await owner.check();
      old.push(owner.baton);
    }
    old.pop(); // the current one
    for (const baton of old) {
      expectRefused(await post(`${url}/v2/pipeline`, { baton, ...selectOne }), 400, "BATON_REUSED", baton);
      await owner.check();
    }
    await owner.commit();
  });

  it("lets exactly one of several concurrent requests with the same baton through", async () => {
    const owner = new Owner("concurrent");
    await owner.open();
    const refusals = new Map<string, number>();
    const rounds = pick(20, 200);
    for (let round = 0; round < rounds; round++) {
      const copies = 2 + (round % 3);
      // A statement that takes a moment, so that the copies meet the stream busy (or already rotated).
      const body = {
        baton: owner.baton,
        requests: [execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT count(*) FROM c"), execute("SELECT count(*) FROM kv WHERE k = 'concurrent'")],
      };
      const answers = await Promise.all(Array.from({ length: copies }, () => post(`${url}/v2/pipeline`, body)));
      const winners = answers.filter((a) => a.status === 200);
      expect(winners, answers.map((a) => a.text.slice(0, 120)).join("\n")).toHaveLength(1);
      expect(scalar(winners[0]!, 1)).toBe("1");
      for (const loser of answers.filter((a) => a.status !== 200)) {
        // Still busy (409 STREAM_BUSY) or already rotated (400 BATON_REUSED): both name the reason.
        expect([409, 400]).toContain(loser.status);
        expect(["STREAM_BUSY", "BATON_REUSED"]).toContain(loser.json.code);
        expect(loser.type).toBe("application/json");
        refusals.set(loser.json.code, (refusals.get(loser.json.code) ?? 0) + 1);
      }
      owner.baton = winners[0]!.json.baton;
    }
    await owner.check();
    await owner.commit();
    console.log(`[batons] concurrent copies refused: ${[...refusals].map(([c, n]) => `${c}×${n}`).join(" ")}`);
  });

  it("refuses a baton presented while its cursor body is still streaming with STREAM_BUSY (409)", async () => {
    const response = await fetch(`${url}/v3/cursor`, {
      method: "POST",
      body: JSON.stringify({ baton: null, batch: { steps: [{ stmt: { sql: "BEGIN" } }, { stmt: { sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT x, 'padding padding padding' FROM c" } }] } }),
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let head = "";
    while (!head.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      head += Buffer.from(value).toString();
    }
    const baton = JSON.parse(head.slice(0, head.indexOf("\n"))).baton as string;
    expectRefused(await post(`${url}/v3/pipeline`, { baton, requests: [{ type: "get_autocommit" }] }), 409, "STREAM_BUSY", baton);
    // Not burned: once the body is read, the same baton goes on.
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    const next = await post(`${url}/v3/pipeline`, { baton, requests: [{ type: "get_autocommit" }, execute("ROLLBACK"), close] });
    expect(next.status, next.text).toBe(200);
    expect(next.json.results[0].response.is_autocommit).toBe(false);
  });

  it("refuses a baton of another database with BATON_DATABASE_MISMATCH without burning it", async () => {
    const owner = new Owner("elsewhere");
    await owner.open();
    for (const path of ["/other/v2/pipeline", "/other/v3/pipeline"]) {
      expectRefused(await post(`${url}${path}`, { baton: owner.baton, ...selectOne }), 400, "BATON_DATABASE_MISMATCH", owner.baton);
      await owner.check();
    }
    // The other database's batons are refused here just the same.
    const other = await post(`${url}/other/v2/pipeline`, { requests: [execute("SELECT 1")] });
    expectRefused(await post(`${url}/v2/pipeline`, { baton: other.json.baton, ...selectOne }), 400, "BATON_DATABASE_MISMATCH", other.json.baton);
    expect((await post(`${url}/other/v2/pipeline`, { baton: other.json.baton, requests: [close] })).status).toBe(200);
    // An unknown database is a 404 before any baton is looked at.
    const unknown = await post(`${url}/nope/v2/pipeline`, { baton: owner.baton, ...selectOne });
    expect({ status: unknown.status, code: unknown.json.code }).toEqual({ status: 404, code: "DATABASE_NOT_FOUND" });
    await owner.check();
    await owner.commit();
  });

  it("refuses the baton of an expired stream with STREAM_EXPIRED, its transaction rolled back", async () => {
    const owner = new Owner("expired");
    await owner.open();
    // Idle timeout 1 s, reaper granularity 1 s.
    await sleep(2500);
    expectRefused(await post(`${url}/v2/pipeline`, { baton: owner.baton, requests: [execute("COMMIT")] }), 400, "STREAM_EXPIRED", owner.baton);
    // Rolled back, and its write lock released: another writer commits at once.
    const other = await post(`${url}/v2/pipeline`, {
      requests: [execute("BEGIN IMMEDIATE"), execute("SELECT count(*) FROM kv WHERE k = 'expired'"), execute("ROLLBACK"), close],
    });
    expect(other.json.results.map((r: any) => r.type)).toEqual(["ok", "ok", "ok", "ok"]);
    expect(scalar(other, 1)).toBe("0");
  });

  it("refuses the baton of a closed stream with STREAM_CLOSED", async () => {
    const owner = new Owner("closed");
    await owner.open();
    const last = owner.baton;
    const closing = await post(`${url}/v2/pipeline`, { baton: last, requests: [execute("ROLLBACK"), close] });
    expect(closing.json.baton).toBeNull();
    expectRefused(await post(`${url}/v2/pipeline`, { baton: last, ...selectOne }), 400, "STREAM_CLOSED", last);
    // A malformed request drops its stream too (as sqld), and says so to the next request.
    const dropped = new Owner("dropped");
    await dropped.open();
    const bad = await post(`${url}/v2/pipeline`, { baton: dropped.baton, requests: [{ type: "execute", stmt: { sql_id: 99 } }] });
    expect(bad.status).toBe(400);
    expectRefused(await post(`${url}/v2/pipeline`, { baton: dropped.baton, ...selectOne }), 400, "STREAM_CLOSED", dropped.baton);
    const check = await post(`${url}/v2/pipeline`, { requests: [execute("SELECT count(*) FROM kv WHERE k IN ('closed', 'dropped')"), close] });
    expect(scalar(check)).toBe("0");
  });

  it("refuses a baton minted by another server (another key) with BATON_INVALID", async () => {
    const second = await startInProcess();
    try {
      const foreign = await post(`${second.url}/v2/pipeline`, { requests: [execute("SELECT 1")] });
      expectRefused(await post(`${url}/v2/pipeline`, { baton: foreign.json.baton, ...selectOne }), 400, "BATON_INVALID", foreign.json.baton);
    } finally {
      await second.close();
    }
  });

  it("ends with no live session: every stream above was closed, expired or rolled back", async () => {
    await server.server.store.settled();
    // Only streams left open by the tests would remain; each test closed or expired its own.
    const deadline = Date.now() + 5000;
    while (server.server.store.count() > 0 && Date.now() < deadline) await sleep(100);
    expect(server.server.store.count()).toBe(0);
    const committed = await post(`${url}/v2/pipeline`, { requests: [execute("SELECT group_concat(k) FROM (SELECT k FROM kv ORDER BY k)"), close] });
    expect(scalar(committed)).toBe("concurrent,elsewhere,forged,reencoded,replayed");
  });
});
