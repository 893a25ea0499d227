import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, DEFAULT_LIMITS, parseConfig, resolveCli } from "../src/config.js";

describe("configuration", () => {
  it("has a working default: database default on 127.0.0.1:8080", () => {
    const { config } = resolveCli([], {});
    expect(config.host).toBe("127.0.0.1");
    expect(config.port).toBe(8080);
    expect(config.databases).toEqual([{ name: "default", mode: "create" }]);
    expect(config.dataDir).toMatch(/data$/);
    expect(config.limits).toEqual(DEFAULT_LIMITS);
  });

  it("lets flags win over the environment", () => {
    const { config } = resolveCli(["--port", "9000", "--host=0.0.0.0"], { PORT: "7000", HRANAD_HOST: "::1" });
    expect(config.port).toBe(9000);
    expect(config.host).toBe("0.0.0.0");
    expect(resolveCli([], { PORT: "0" }).config.port).toBe(0);
  });

  it("parses limits with units and database lists or mappings", () => {
    const config = parseConfig({
      databases: { app: { driver: "libsql" }, logs: { mode: "readonly", path: "logs/main.db" } },
      limits: { idleTimeoutMs: "30s", maxBodyBytes: "1MiB", maxSessionsPerDatabase: 4 },
    });
    expect(config.databases).toEqual([
      { name: "app", driver: "libsql" },
      { name: "logs", path: "logs/main.db", mode: "readonly" },
    ]);
    expect(config.limits.idleTimeoutMs).toBe(30_000);
    expect(config.limits.maxBodyBytes).toBe(1 << 20);
    expect(config.limits.maxSessionsPerDatabase).toBe(4);
  });

  it("parses the per-client stream cap; by default the store derives it from the per-database cap", () => {
    expect(DEFAULT_LIMITS.maxSessionsPerClient).toBe(0);
    expect(parseConfig({ limits: { maxSessionsPerClient: 8 } }).limits.maxSessionsPerClient).toBe(8);
    expect(parseConfig({ limits: { maxSessionsPerClient: 0 } }).limits.maxSessionsPerClient).toBe(0);
    expect(() => parseConfig({ limits: { maxSessionsPerClient: -1 } })).toThrow(/limits\.maxSessionsPerClient: must be an integer ≥ 0/);
    expect(() => parseConfig({ limits: { maxConnections: 0 } })).toThrow(/limits\.maxConnections: must be an integer ≥ 1/);
  });

  it("parses the memory bounds and send timeout, with documented defaults", () => {
    expect(DEFAULT_LIMITS).toMatchObject({
      maxResponseBytes: 32 << 20,
      maxBufferedBytes: 512 << 20,
      maxSocketSqlBytes: 4 << 20,
      maxSocketBufferedBytes: 16 << 20,
      sendTimeoutMs: 30_000,
      walTruncateBytes: 64 << 20,
    });
    const { limits } = parseConfig({
      limits: {
        maxResponseBytes: "16MiB",
        maxBufferedBytes: "1GiB",
        maxSocketSqlBytes: "1MiB",
        maxSocketBufferedBytes: "2MiB",
        sendTimeoutMs: "5s",
        walTruncateBytes: "8MiB",
      },
    });
    expect(limits).toMatchObject({
      maxResponseBytes: 16 << 20,
      maxBufferedBytes: 1 << 30,
      maxSocketSqlBytes: 1 << 20,
      maxSocketBufferedBytes: 2 << 20,
      sendTimeoutMs: 5000,
      walTruncateBytes: 8 << 20,
    });
  });

  it.each([
    [{ bogus: 1 }, /unknown key "bogus"/],
    [{ limits: { maxResponseBytes: "1MiB" } }, /limits.maxResponseBytes: must be at least limits.maxResultBytes/],
    [{ limits: { maxBufferedBytes: "16MiB" } }, /limits.maxBufferedBytes: must be at least limits.maxResponseBytes/],
    [{ limits: { sendTimeoutMs: "10ms" } }, /limits.sendTimeoutMs/],
    [{ limits: { maxSocketSqlBytes: "lots" } }, /limits.maxSocketSqlBytes/],
    [{ port: "http" }, /port/],
    [{ databases: [{ name: "a/b" }] }, /databases\[0\]\.name/],
    [{ databases: [{ name: "a" }, { name: "a" }] }, /declared twice/],
    [{ databases: [{ name: "v2" }] }, /reserved/],
    [{ databases: { admin: {} } }, /reserved/],
    [{ databases: [{ name: "metrics" }] }, /reserved/],
    [{ databases: [{ name: "a", driver: "postgres" }] }, /driver/],
    [{ limits: { idleTimeoutMs: "soon" } }, /limits.idleTimeoutMs/],
    [{ limits: { maxConnections: 0 } }, /limits.maxConnections/],
    [{ baseUrl: "ftp://x" }, /baseUrl/],
  ])("refuses %j", (document, message) => {
    expect(() => parseConfig(document)).toThrow(ConfigError);
    expect(() => parseConfig(document)).toThrow(message);
  });

  it("accepts the README's configuration example, whose limits are the documented defaults", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "..", "README.md"), "utf8");
    const example = /## Configuration file\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example, "the README has a configuration example").toBeDefined();
    const config = parseConfig(parseYaml(example!), "/tmp");
    expect(config.limits).toEqual(DEFAULT_LIMITS);
    expect(config.databases.map((d) => d.name)).toEqual(["default", "app"]);
  });

  it("refuses unknown flags and flags without values", () => {
    expect(() => resolveCli(["--nope"], {})).toThrow(/unknown option/);
    expect(() => resolveCli(["--port"], {})).toThrow(/needs a value/);
  });
});
