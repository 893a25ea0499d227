import { describe, expect, it } from "vitest";
import { checkKeys, ConfigError, count, duration, isMapping, parseDurationMs, port, size } from "../src/index.js";

describe("configuration values", () => {
  it("reads durations in milliseconds or with a unit, and names the key when it cannot", () => {
    expect(duration("a", 250)).toBe(250);
    expect(duration("a", "10s")).toBe(10_000);
    expect(duration("a", " 1.5m ")).toBe(90_000);
    expect(duration("a", "2ms")).toBe(2);
    expect(duration("a", "1h")).toBe(3_600_000);
    expect(parseDurationMs(-1)).toBeUndefined();
    expect(parseDurationMs("10 parsecs")).toBeUndefined();
    expect(() => duration("limits.idleTimeoutMs", "soon")).toThrow(new ConfigError('limits.idleTimeoutMs: must be a duration (milliseconds, or a string like "10s", "500ms", "5m"), got "soon"'));
  });

  it("reads sizes with decimal and binary units", () => {
    expect(size("s", 1)).toBe(1);
    expect(size("s", "10MiB")).toBe(10 * 1024 * 1024);
    expect(size("s", "512kb")).toBe(512_000);
    expect(size("s", "1GiB")).toBe(1 << 30);
    expect(() => size("limits.maxBodyBytes", 0)).toThrow(/^limits\.maxBodyBytes: must be a size/);
    expect(() => size("s", "1.5MiB")).toThrow(ConfigError);
  });

  it("reads counts, ports and mappings with known keys", () => {
    expect(count("c", 3, 1)).toBe(3);
    expect(() => count("c", 0, 1)).toThrow(/c: must be an integer ≥ 1, got 0/);
    expect(() => count("c", 1.5, 0)).toThrow(ConfigError);
    expect(port("p", "8080")).toBe(8080);
    expect(port("p", 0)).toBe(0);
    expect(() => port("--port", "70000")).toThrow(/--port: must be a port number from 0 to 65535/);
    expect(isMapping({})).toBe(true);
    expect(isMapping([])).toBe(false);
    expect(isMapping(null)).toBe(false);
    expect(() => checkKeys("limits", { nope: 1 }, ["a", "b"])).toThrow('limits: unknown key "nope" (allowed: a, b)');
    expect(() => checkKeys("limits", { a: 1 }, ["a", "b"])).not.toThrow();
  });
});
