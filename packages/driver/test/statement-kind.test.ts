import { describe, expect, it } from "vitest";
import { statementKind } from "../src/index.js";

describe("statementKind", () => {
  it.each([
    ["SELECT 1", "select"],
    ["  values (1)", "select"],
    ["insert into t values (1)", "insert"],
    ["REPLACE INTO t VALUES (1)", "insert"],
    ["INSERT OR REPLACE INTO t VALUES (1)", "insert"],
    ["UPDATE t SET x = 1", "update"],
    ["DELETE FROM t", "delete"],
    ["CREATE TABLE t (x)", "other"],
    ["EXPLAIN INSERT INTO t VALUES (1)", "other"],
    ["EXPLAIN QUERY PLAN SELECT 1", "other"],
    ["PRAGMA user_version", "other"],
    ["BEGIN", "other"],
    ["", "other"],
    ["-- only a comment", "other"],
    ["/* c */ -- d\n  insert into t values (1)", "insert"],
    ["WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "insert"],
    ["WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT * FROM c", "select"],
    ["WITH a AS (DELETE FROM t RETURNING *) SELECT 1", "select"],
    ["with x as materialized (select 1), y(a, b) as (values (1, 2)) update t set x = 1", "update"],
    ['WITH "select" AS (SELECT 1) DELETE FROM t', "delete"],
    ["WITH x AS (SELECT ')' AS p, \"(\" AS q, [ ( ] AS r) REPLACE INTO t VALUES (1)", "insert"],
    ["WITH x AS (SELECT 1 /* ) insert */) DELETE FROM t", "delete"],
  ])("%j is %s", (sql, kind) => {
    expect(statementKind(sql)).toBe(kind);
  });
});
