import { describe, expect, test } from "vitest";
import { json } from "../src/index.js";
import { json as clientJson } from "../src/client.js";
import { httpExchanges, wsLines } from "./traces.js";

// The traces come from the official client against a reference server; the server lines use Python-style
// spacing, so they are compared as parsed JSON.
const parse = (text: string): unknown => JSON.parse(text);

describe("traces/http-v2.txt", () => {
  const exchanges = httpExchanges();

  test("holds the exchanges the tests expect", () => {
    expect(exchanges).toHaveLength(10);
  });

  test.each(exchanges.map((e, i) => [i, e] as const))("request %i decodes and re-encodes to the same JSON", (_i, exchange) => {
    const body = json.decodePipelineReqBody(exchange.request, 2);
    expect(parse(clientJson.encodePipelineReqBody(body))).toEqual(parse(exchange.request));
    // And the same body decodes identically as bytes.
    expect(json.decodePipelineReqBody(new TextEncoder().encode(exchange.request), 2)).toEqual(body);
  });

  test.each(exchanges.map((e, i) => [i, e] as const))("response %i decodes and re-encodes to the same JSON", (_i, exchange) => {
    const body = clientJson.decodePipelineRespBody(exchange.response);
    // The reference server omits `base_url`; hranad always writes it (null), as the spec's structure has it.
    expect(parse(json.encodePipelineRespBody(body))).toEqual({ base_url: null, ...(parse(exchange.response) as object) });
  });

  test("the first request's values decode to the driver's types", () => {
    const body = json.decodePipelineReqBody(exchanges[0]!.request, 2);
    expect(body.baton).toBeNull(); // the key is absent on the first request
    expect(body.requests).toEqual([
      {
        type: "execute",
        stmt: {
          sql: "SELECT ?, :a, 42, 1.5, x'00ff', NULL",
          sqlId: null,
          args: [1n],
          namedArgs: [],
          wantRows: true,
        },
      },
      { type: "close" },
    ]);
  });

  test("named arguments keep their names verbatim and floats stay numbers", () => {
    const body = json.decodePipelineReqBody(exchanges[2]!.request, 2);
    expect(body.requests[0]).toEqual({
      type: "execute",
      stmt: {
        sql: "SELECT :a, $b",
        sqlId: null,
        args: [],
        namedArgs: [
          { name: "a", value: 1 },
          { name: "$b", value: "x" },
        ],
        wantRows: true,
      },
    });
  });

  test("the batch(write) request decodes with its conditions", () => {
    const body = json.decodePipelineReqBody(exchanges[3]!.request, 2);
    const batch = body.requests[4];
    expect(batch?.type).toBe("batch");
    if (batch?.type !== "batch") return;
    expect(batch.batch.steps.map((s) => s.condition)).toEqual([
      null,
      { type: "ok", step: 0 },
      { type: "ok", step: 1 },
      { type: "ok", step: 2 },
      { type: "ok", step: 3 },
      { type: "ok", step: 4 },
      { type: "ok", step: 5 },
      { type: "not", cond: { type: "ok", step: 6 } },
    ]);
    expect(batch.batch.steps[1]!.stmt.sqlId).toBe(0);
    expect(batch.batch.steps[0]!.stmt.wantRows).toBe(false);
  });

  test("a transaction's second request carries the baton", () => {
    const body = json.decodePipelineReqBody(exchanges[5]!.request, 2);
    expect(body.baton).toBe("9c70132c6269350721e4543b73658086.9c755120c009891f");
  });

  test("the skipped ROLLBACK of the batch response is null in both arrays", () => {
    const body = clientJson.decodePipelineRespBody(exchanges[3]!.response);
    const result = body.results[4];
    expect(result?.type === "ok" && result.response.type === "batch" && result.response.result).toMatchObject({
      stepErrors: [null, null, null, null, null, null, null, null],
    });
    if (result?.type === "ok" && result.response.type === "batch") {
      expect(result.response.result.stepResults[7]).toBeNull();
      expect(result.response.result.stepResults[3]).toEqual({ cols: [], rows: [], affectedRowCount: 1, lastInsertRowid: 1n });
    }
  });

  test("every request is also accepted under version 3", () => {
    for (const exchange of exchanges) expect(() => json.decodePipelineReqBody(exchange.request, 3)).not.toThrow();
  });
});

describe("traces/ws-v2.txt", () => {
  const { client, server } = wsLines();

  test("holds the messages the tests expect", () => {
    expect(client.length).toBe(25);
    expect(server.length).toBe(25);
  });

  test.each(client.map((line, i) => [i, line] as const))("client message %i decodes (hrana2) and re-encodes", (_i, line) => {
    const msg = json.decodeClientMsg(line, 2);
    expect(parse(clientJson.encodeClientMsg(msg))).toEqual(parse(line));
  });

  test.each(server.map((line, i) => [i, line] as const))("server message %i decodes and re-encodes", (_i, line) => {
    const msg = clientJson.decodeServerMsg(line);
    expect(parse(json.encodeServerMsg(msg))).toEqual(parse(line));
  });

  test("hello without a jwt key decodes to jwt null", () => {
    expect(json.decodeClientMsg(client[0]!, 2)).toEqual({ type: "hello", jwt: null });
  });

  test("store_sql, sequence and sql_id statements are refused under hrana1", () => {
    const storeSql = client.find((l) => l.includes('"store_sql"'))!;
    const sequence = client.find((l) => l.includes('"sequence"'))!;
    const bySqlId = client.find((l) => l.includes('"execute"') && l.includes('"sql_id"'))!;
    for (const line of [storeSql, sequence, bySqlId]) {
      expect(() => json.decodeClientMsg(line, 1)).toThrow(expect.objectContaining({ code: "PROTO_NOT_SUPPORTED" }));
    }
    expect(json.decodeClientMsg(client[1]!, 1)).toEqual({ type: "request", requestId: 0, request: { type: "open_stream", streamId: 0 } });
  });

  test("a float argument of the batch stays a float", () => {
    const batchLine = client.find((l) => l.includes('"value":1.5'))!;
    const msg = json.decodeClientMsg(batchLine, 2);
    expect(msg.type === "request" && msg.request.type === "batch" && msg.request.batch.steps[3]!.stmt.args).toEqual([1.5]);
  });

  test("a statement error is a response_error with the code", () => {
    const msg = clientJson.decodeServerMsg(server[server.length - 2]!);
    expect(msg).toEqual({
      type: "response_error",
      requestId: 2,
      error: { message: "SQLite function returned error code 1 (SQL logic error): no such column: foo", code: "SQLITE_ERROR" },
    });
  });
});
