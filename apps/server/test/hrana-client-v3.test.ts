import {
  BatchCond,
  HttpClient,
  ResponseError,
  WebSocket,
  WsClient,
  openHttp,
  openWs,
  type Client,
  type HttpStream,
  type SqlOwner,
  type Stream,
} from "@libsql/hrana-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

/**
 * @libsql/hrana-client 0.10.0 with protocol version 3, over HTTP (protobuf as probed, and JSON forced) and over
 * WebSocket (hrana3-protobuf, and hrana3 JSON by offering only that subprotocol).
 */

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

interface Opened {
  readonly client: Client;
  /** Where stored SQL lives: the stream over HTTP, the whole connection over WebSocket. */
  owner(stream: Stream): SqlOwner;
  /** What went over the wire: HTTP `METHOD /path` lines, or the number of WebSocket messages received. */
  readonly http: string[];
  wsMessages(): number;
  readonly encoding: "json" | "protobuf";
}

/** Hrana 3 over JSON on HTTP: the client probes only `/v3-protobuf`, so the test points it at `/v3` itself. */
const JSON_V3_ENDPOINT = {
  versionPath: "v3",
  pipelinePath: "v3/pipeline",
  cursorPath: "v3/cursor",
  version: 3,
  encoding: "json",
} as const;

const transports: Record<string, (path?: string) => Promise<Opened>> = {
  async "http protobuf"(path = "") {
    const http: string[] = [];
    const client = openHttp(server.url + path, undefined, recordingFetch(http), undefined, 3);
    expect(await client.getVersion()).toBe(3);
    expect(client._endpoint?.encoding).toBe("protobuf");
    return { client, owner: (stream) => stream as HttpStream, http, wsMessages: () => 0, encoding: "protobuf" };
  },
  async "http json"(path = "") {
    const http: string[] = [];
    const client = openHttp(server.url + path, undefined, recordingFetch(http), undefined, 3);
    expect(await client.getVersion()).toBe(3);
    // The probe has settled (getVersion awaited it), so this choice is not overwritten.
    client._endpoint = { ...JSON_V3_ENDPOINT };
    client._endpointPromise = Promise.resolve(client._endpoint);
    return { client, owner: (stream) => stream as HttpStream, http, wsMessages: () => 0, encoding: "json" };
  },
  async "ws hrana3-protobuf"(path = "") {
    return openSocket(path, ["hrana3-protobuf", "hrana3", "hrana2", "hrana1"], "hrana3-protobuf");
  },
  async "ws hrana3"(path = "") {
    return openSocket(path, ["hrana3"], "hrana3");
  },
};

function recordingFetch(log: string[]) {
  return (request: Request): Promise<Response> => {
    log.push(`${request.method} ${new URL(request.url).pathname}`);
    return fetch(request);
  };
}

async function openSocket(path: string, offered: string[], expected: string): Promise<Opened> {
  const socket = new WebSocket(server.wsUrl + path, offered);
  let received = 0;
  socket.addEventListener("message", () => received++);
  const client = new WsClient(socket, undefined);
  expect(await client.getVersion()).toBe(3);
  expect(socket.protocol).toBe(expected);
  return {
    client,
    owner: () => client,
    http: [],
    wsMessages: () => received,
    encoding: expected === "hrana3" ? "json" : "protobuf",
  };
}

/** Step promises reject while `batch.execute()` is still running: mark them handled, assert on them afterwards. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

const MANY = 6000;
const COUNT_TO = (n: number) => `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT x, 'row-' || x AS label FROM c`;

for (const [name, open] of Object.entries(transports)) {
  describe(`@libsql/hrana-client v3 over ${name}`, () => {
    const table = `h3_${name.replace(/[^a-z0-9]/g, "_")}`;
    let opened: Opened;
    let client: Client;

    beforeAll(async () => {
      opened = await open();
      client = opened.client;
      client.intMode = "bigint";
      const stream = client.openStream();
      await stream.run(`DROP TABLE IF EXISTS ${table}`);
      await stream.run(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, data BLOB)`);
      stream.close();
    });
    afterAll(() => client?.close());

    it("speaks the negotiated encoding on the wire", async () => {
      const stream = client.openStream();
      expect(await stream.queryValue("SELECT 1")).toMatchObject({ value: 1n });
      const cursor = stream.batch(true);
      const step = cursor.step().queryValue("SELECT 2");
      await cursor.execute();
      expect((await step)?.value).toBe(2n);
      stream.close();
      if (name.startsWith("http")) {
        const prefix = opened.encoding === "json" ? "/v3" : "/v3-protobuf";
        expect(opened.http[0]).toBe("GET /v3-protobuf");
        expect(opened.http).toContain(`POST ${prefix}/pipeline`);
        expect(opened.http).toContain(`POST ${prefix}/cursor`);
        expect(opened.http.filter((line) => line.startsWith("POST") && !line.startsWith(`POST ${prefix}/`))).toEqual([]);
      } else {
        expect(opened.wsMessages()).toBeGreaterThan(0);
      }
    });

    it("round-trips every value type, integers as bigint up to 2^63-1", async () => {
      const stream = client.openStream();
      const blob = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
      const row = await stream.queryRow(["SELECT ? AS max, ? AS min, ? AS zero, ? AS f, ? AS neg, ? AS t, ? AS b, ? AS n, ? AS empty_text, ? AS empty_blob", [9223372036854775807n, -9223372036854775808n, 0n, 1.5, -0.25, "héllo 🌍\u0000end", blob, null, "", new Uint8Array(0)]]);
      const r = row.row!;
      expect(r.max).toBe(9223372036854775807n);
      expect(r.min).toBe(-9223372036854775808n);
      expect(r.zero).toBe(0n);
      expect(r.f).toBe(1.5);
      expect(r.neg).toBe(-0.25);
      expect(r.t).toBe("héllo 🌍\u0000end");
      expect(new Uint8Array(r.b as ArrayBuffer)).toEqual(blob);
      expect(r.n).toBeNull();
      expect(r.empty_text).toBe("");
      expect(new Uint8Array(r.empty_blob as ArrayBuffer)).toEqual(new Uint8Array(0));
      // Stored and read back with SQLite's own view of the types.
      const insert = await stream.run([`INSERT INTO ${table} (id, name, score, data) VALUES (?, ?, ?, ?)`, [9223372036854775807n, "max", 2.5, blob]]);
      expect(insert.affectedRowCount).toBe(1);
      expect(insert.lastInsertRowid).toBe(9223372036854775807n);
      const typed = await stream.queryRow(`SELECT typeof(id) AS ti, typeof(name) AS tn, typeof(score) AS ts, typeof(data) AS td, id FROM ${table} WHERE name = 'max'`);
      expect({ ...typed.row }).toMatchObject({ ti: "integer", tn: "text", ts: "real", td: "blob", id: 9223372036854775807n });
      // A float with an integral value stays a float.
      const float = await stream.queryRow(["SELECT typeof(?) AS t, ? AS v", [3.0, 3.0]]);
      expect(float.row!.t).toBe("real");
      expect(float.row!.v).toBe(3);
      await stream.run(`DELETE FROM ${table} WHERE name = 'max'`);
      // The other integer modes.
      stream.intMode = "string";
      expect((await stream.queryValue("SELECT 9223372036854775807")).value).toBe("9223372036854775807");
      stream.intMode = "number";
      expect((await stream.queryValue("SELECT 42")).value).toBe(42);
      await expect(stream.queryValue("SELECT 9223372036854775807")).rejects.toThrow(RangeError);
      stream.close();
    });

    it(`streams ${MANY} rows through a cursor, across many chunks`, async () => {
      const stream = client.openStream();
      const before = opened.wsMessages();
      const batch = stream.batch(true);
      const rows = batch.step().query(COUNT_TO(MANY));
      const after = batch.step().queryValue("SELECT 'after'");
      await batch.execute();
      const result = (await rows)!;
      expect(result.columnNames).toEqual(["x", "label"]);
      expect(result.rows).toHaveLength(MANY);
      expect(result.rows[0]!.x).toBe(1n);
      expect(result.rows[MANY - 1]!.label).toBe(`row-${MANY}`);
      let sum = 0n;
      for (const row of result.rows) sum += row.x as bigint;
      expect(sum).toBe(BigInt((MANY * (MANY + 1)) / 2));
      expect((await after)!.value).toBe("after");
      // The client fetches at most 1000 entries per fetch_cursor: the rows came in several answers.
      if (name.startsWith("ws")) expect(opened.wsMessages() - before).toBeGreaterThanOrEqual(Math.ceil(MANY / 1000) + 1);
      stream.close();
    });

    it("runs many multi-chunk cursors back to back on one stream and connection", async () => {
      // The client prefetches (up to 10 fetch_cursor requests in flight over WebSocket), so fetches can arrive after
      // the cursor is done: the server must answer them, not drop the connection.
      const stream = client.openStream();
      // Over HTTP each cursor is its own request; the prefetch race only exists on a WebSocket.
      const rounds = name.startsWith("ws") ? 10 : 3;
      for (let i = 0; i < rounds; i++) {
        const batch = stream.batch(true);
        const rows = batch.step().query(COUNT_TO(1500 + i));
        await batch.execute();
        expect((await rows)!.rows).toHaveLength(1500 + i);
      }
      expect(client.closed).toBe(false);
      expect((await stream.queryValue("SELECT 'still open'")).value).toBe("still open");
      stream.close();
    });

    it("reports step errors inside a cursor, before and after rows, and honours conditions", async () => {
      const stream = client.openStream();
      const batch = stream.batch(true);
      const first = batch.step();
      const firstRows = first.query("SELECT 1 AS one");
      const missing = batch.step();
      const missingRows = handled(missing.query("SELECT * FROM no_such_table_here"));
      const skipped = batch.step().condition(BatchCond.ok(missing)).queryValue("SELECT 'skipped'");
      const onError = batch.step().condition(BatchCond.error(missing)).queryValue("SELECT 'ran because the step failed'");
      // Fails after 1499 rows were produced: abs() of the smallest integer overflows.
      const midway = batch.step();
      const midwayRows = handled(
        midway.query(
          "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) SELECT CASE WHEN x = 1500 THEN abs(-9223372036854775807 - 1) ELSE x END AS v FROM c",
        ),
      );
      const last = batch.step().condition(BatchCond.error(midway)).queryValue("SELECT 'last'");
      await batch.execute();
      expect((await firstRows)!.rows[0]!.one).toBe(1n);
      const missingError = await missingRows.catch((e: unknown) => e);
      expect(missingError).toBeInstanceOf(ResponseError);
      expect((missingError as ResponseError).code).toBe("SQLITE_ERROR");
      expect((missingError as ResponseError).message).toMatch(/no such table/);
      expect(await skipped).toBeUndefined();
      expect((await onError)!.value).toBe("ran because the step failed");
      const overflow = await midwayRows.catch((e: unknown) => e);
      expect(overflow).toBeInstanceOf(ResponseError);
      expect((overflow as ResponseError).message).toMatch(/integer overflow/);
      expect((await last)!.value).toBe("last");
      // The stream is still usable.
      expect((await stream.queryValue("SELECT 'alive'")).value).toBe("alive");
      stream.close();
    });

    it("reports rows affected (and, over JSON, last insert rowid) from a cursor", async () => {
      const stream = client.openStream();
      const batch = stream.batch(true);
      const insert = batch.step().run([`INSERT INTO ${table} (id, name) VALUES (?, ?)`, [4242n, "cursor-insert"]]);
      const update = batch.step().run(`UPDATE ${table} SET score = 1 WHERE name = 'cursor-insert'`);
      const remove = batch.step().run(`DELETE FROM ${table} WHERE name = 'cursor-insert'`);
      await batch.execute();
      expect((await insert)!.affectedRowCount).toBe(1);
      expect((await update)!.affectedRowCount).toBe(1);
      expect((await remove)!.affectedRowCount).toBe(1);
      // @libsql/hrana-client 0.10.0 decodes protobuf StepEndEntry.last_insert_rowid as uint64 while the spec says
      // sint64 (zigzag): only the JSON value is meaningful.
      if (opened.encoding === "json") expect((await insert)!.lastInsertRowid).toBe(4242n);
      stream.close();
    });

    it("describes statements: parameter names, columns with decltypes, explain, read-only", async () => {
      const stream = client.openStream();
      const select = await stream.describe(`SELECT id, name, score * 2 AS doubled FROM ${table} WHERE id = :id AND name = ? AND score > $min`);
      expect(select.paramNames).toEqual([":id", undefined, "$min"]);
      expect(select.columns).toEqual([
        { name: "id", decltype: "INTEGER" },
        { name: "name", decltype: "TEXT" },
        { name: "doubled", decltype: undefined },
      ]);
      expect(select.isExplain).toBe(false);
      expect(select.isReadonly).toBe(true);
      const insert = await stream.describe(`INSERT INTO ${table} (name) VALUES (@name)`);
      expect(insert.paramNames).toEqual(["@name"]);
      expect(insert.columns).toEqual([]);
      expect(insert.isReadonly).toBe(false);
      const explain = await stream.describe("EXPLAIN QUERY PLAN SELECT 1");
      expect(explain.isExplain).toBe(true);
      const error = await stream.describe("SELEKT nonsense").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResponseError);
      expect((error as ResponseError).code).toBe("SQLITE_ERROR");
      // Describing does not run anything.
      expect((await stream.queryValue(`SELECT count(*) FROM ${table} WHERE name IS NULL`)).value).toBe(0n);
      stream.close();
    });

    it("runs a sequence, which stops at the first failing statement", async () => {
      const stream = client.openStream();
      await stream.sequence(`
        CREATE TABLE IF NOT EXISTS ${table}_seq (x);
        DELETE FROM ${table}_seq;
        INSERT INTO ${table}_seq VALUES (1);
        INSERT INTO ${table}_seq VALUES (2);
      `);
      expect((await stream.queryValue(`SELECT sum(x) FROM ${table}_seq`)).value).toBe(3n);
      const error = await stream
        .sequence(`INSERT INTO ${table}_seq VALUES (10); INSERT INTO missing_seq_table VALUES (1); INSERT INTO ${table}_seq VALUES (100);`)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResponseError);
      expect((error as ResponseError).message).toMatch(/no such table/);
      // Not a transaction: the first insert stays, the third never ran.
      expect((await stream.queryValue(`SELECT sum(x) FROM ${table}_seq`)).value).toBe(13n);
      stream.close();
    });

    it("reports autocommit state with getAutocommit", async () => {
      const stream = client.openStream();
      expect(await stream.getAutocommit()).toBe(true);
      await stream.run("BEGIN");
      expect(await stream.getAutocommit()).toBe(false);
      await stream.run(`INSERT INTO ${table} (name) VALUES ('autocommit-probe')`);
      expect(await stream.getAutocommit()).toBe(false);
      await stream.run("ROLLBACK");
      expect(await stream.getAutocommit()).toBe(true);
      expect((await stream.queryValue(`SELECT count(*) FROM ${table} WHERE name = 'autocommit-probe'`)).value).toBe(0n);
      stream.close();
    });

    for (const useCursor of [false, true]) {
      it(`skips steps guarded by not(is_autocommit) after a ROLLBACK step (${useCursor ? "cursor" : "batch"})`, async () => {
        const stream = client.openStream();
        const batch = stream.batch(useCursor);
        const inTx = () => BatchCond.not(BatchCond.isAutocommit(batch));
        const begin = batch.step().run("BEGIN");
        const first = batch.step().condition(inTx()).run(`INSERT INTO ${table} (name) VALUES ('ac-first-${useCursor}')`);
        const rollback = batch.step().condition(inTx()).run("ROLLBACK");
        const second = batch.step().condition(inTx()).run(`INSERT INTO ${table} (name) VALUES ('ac-second-${useCursor}')`);
        const commit = handled(batch.step().run("COMMIT"));
        const outside = batch.step().condition(BatchCond.isAutocommit(batch)).queryValue("SELECT 'outside'");
        await batch.execute();
        expect(await begin).toBeDefined();
        expect((await first)!.affectedRowCount).toBe(1);
        expect(await rollback).toBeDefined();
        expect(await second).toBeUndefined(); // skipped: the transaction was gone
        const commitError = await commit.catch((e: unknown) => e);
        expect(commitError).toBeInstanceOf(ResponseError);
        expect((commitError as ResponseError).message).toMatch(/no transaction is active/);
        expect((await outside)!.value).toBe("outside");
        const count = await stream.queryValue(`SELECT count(*) FROM ${table} WHERE name LIKE 'ac-%-${useCursor}'`);
        expect(count.value).toBe(0n);
        expect(await stream.getAutocommit()).toBe(true);
        stream.close();
      });
    }

    it("runs the and/or conditions of a batch", async () => {
      const stream = client.openStream();
      const batch = stream.batch(false);
      const ok = batch.step();
      const okResult = ok.queryValue("SELECT 1");
      const bad = batch.step();
      const badResult = handled(bad.queryValue("SELECT no_such_column"));
      const both = batch.step().condition(BatchCond.and(batch, [BatchCond.ok(ok), BatchCond.ok(bad)])).queryValue("SELECT 'and'");
      const either = batch.step().condition(BatchCond.or(batch, [BatchCond.ok(ok), BatchCond.ok(bad)])).queryValue("SELECT 'or'");
      await batch.execute();
      expect((await okResult)!.value).toBe(1n);
      await expect(badResult).rejects.toBeInstanceOf(ResponseError);
      expect(await both).toBeUndefined();
      expect((await either)!.value).toBe("or");
      stream.close();
    });

    it("executes stored SQL in statements, batches, cursors, describe and sequence", async () => {
      const stream = client.openStream();
      const owner = opened.owner(stream);
      const insert = owner.storeSql(`INSERT INTO ${table} (name, score) VALUES (?, ?)`);
      const count = owner.storeSql(`SELECT count(*) AS n, sum(score) AS s FROM ${table} WHERE name LIKE 'stored-%'`);
      const double = owner.storeSql("SELECT :v * 2 AS doubled");
      await stream.run([insert, ["stored-1", 1.5]]);
      const batch = stream.batch(false);
      const b = batch.step().run([insert, ["stored-2", 2.5]]);
      const c = batch.step().queryRow(count);
      await batch.execute();
      expect((await b)!.affectedRowCount).toBe(1);
      expect({ ...(await c)!.row }).toMatchObject({ n: 2n, s: 4 });
      const cursor = stream.batch(true);
      const d = cursor.step().queryValue([double, { v: 21n }]);
      const e = cursor.step().queryRow(count);
      await cursor.execute();
      expect((await d)!.value).toBe(42n);
      expect((await e)!.row!.n).toBe(2n);
      const described = await stream.describe(double);
      expect(described.paramNames).toEqual([":v"]);
      expect(described.columns.map((col) => col.name)).toEqual(["doubled"]);
      const script = owner.storeSql(`DELETE FROM ${table} WHERE name = 'stored-1'; DELETE FROM ${table} WHERE name = 'stored-2'`);
      await stream.sequence(script);
      expect((await stream.queryRow(count)).row!.n).toBe(0n);
      // Closed texts can be stored again (ids are reused) and the old handle is refused by the client.
      insert.close();
      const again = owner.storeSql("SELECT 'again'");
      expect((await stream.queryValue(again)).value).toBe("again");
      expect(() => stream.run([insert, ["stored-3", 0]])).toThrow(/closed/);
      for (const sql of [count, double, script, again]) sql.close();
      expect((await stream.queryValue("SELECT 'still fine'")).value).toBe("still fine");
      stream.close();
    });

    it("keeps an interactive transaction on one stream, invisible to another until COMMIT", async () => {
      const writer = client.openStream();
      const reader = client.openStream();
      await writer.run("BEGIN IMMEDIATE");
      await writer.run(`INSERT INTO ${table} (name) VALUES ('pending')`);
      expect((await writer.queryValue(`SELECT count(*) FROM ${table} WHERE name = 'pending'`)).value).toBe(1n);
      expect((await reader.queryValue(`SELECT count(*) FROM ${table} WHERE name = 'pending'`)).value).toBe(0n);
      await writer.run("COMMIT");
      expect((await reader.queryValue(`SELECT count(*) FROM ${table} WHERE name = 'pending'`)).value).toBe(1n);
      await writer.run(`DELETE FROM ${table} WHERE name = 'pending'`);
      writer.close();
      reader.close();
    });

    it("returns SQLite errors with their base code", async () => {
      const stream = client.openStream();
      await stream.run(`INSERT OR IGNORE INTO ${table} (name) VALUES ('unique-one')`);
      const duplicate = await stream.run(`INSERT INTO ${table} (name) VALUES ('unique-one')`).catch((e: unknown) => e);
      expect(duplicate).toBeInstanceOf(ResponseError);
      expect((duplicate as ResponseError).code).toBe("SQLITE_CONSTRAINT");
      expect((duplicate as ResponseError).message).toMatch(/UNIQUE constraint failed/);
      const notNull = await stream.run(`INSERT INTO ${table} (name) VALUES (NULL)`).catch((e: unknown) => e);
      expect((notNull as ResponseError).code).toBe("SQLITE_CONSTRAINT");
      const args = await stream.query(["SELECT ?, ?", [1n]]).catch((e: unknown) => e);
      expect((args as ResponseError).code).toBe("ARGS_INVALID");
      // Errors do not close the stream.
      expect((await stream.queryValue("SELECT 'ok'")).value).toBe("ok");
      stream.close();
    });

    it("addresses another database by path", async () => {
      const other = await open("/other/");
      try {
        const stream = other.client.openStream();
        await stream.run(`CREATE TABLE IF NOT EXISTS only_other_${table} (x)`);
        stream.close();
        const here = client.openStream();
        const found = await here.queryValue(`SELECT count(*) FROM sqlite_master WHERE name = 'only_other_${table}'`);
        expect(found.value).toBe(0n);
        here.close();
      } finally {
        other.client.close();
      }
    });
  });
}

describe("@libsql/hrana-client v3 negotiation", () => {
  it("openWs(url, jwt, 3) picks hrana3-protobuf, the server's favourite", async () => {
    const client = openWs(server.wsUrl, undefined, 3);
    try {
      expect(await client.getVersion()).toBe(3);
      const stream = client.openStream();
      expect(await stream.getAutocommit()).toBe(true);
      stream.close();
    } finally {
      client.close();
    }
  });

  it("a Hrana 2 WebSocket refuses v3 features on the client side", async () => {
    const client = openWs(server.wsUrl, undefined, 2);
    try {
      expect(await client.getVersion()).toBe(2);
      const stream = client.openStream();
      expect(() => stream.getAutocommit()).toThrow(/version 3/);
      expect((await stream.queryValue("SELECT 'v2 works'")).value).toBe("v2 works");
      stream.close();
    } finally {
      client.close();
    }
  });

  it("an HTTP client without the v3 probe falls back to /v2/pipeline", async () => {
    const http: string[] = [];
    const client = new HttpClient(new URL(server.url), undefined, recordingFetch(http), undefined, 2);
    try {
      expect(await client.getVersion()).toBe(2);
      const stream = client.openStream();
      expect((await stream.queryValue("SELECT 'v2'")).value).toBe("v2");
      stream.close();
      expect(http).toEqual(["POST /v2/pipeline"]);
    } finally {
      client.close();
    }
  });
});
