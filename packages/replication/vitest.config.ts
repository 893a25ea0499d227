import { defineProject } from "vitest/config";

// These tests run the real litestream binary and wait for it to ship WAL: on a loaded 2-core machine a test takes
// seconds, so the bound is generous (no assertion depends on time).
export default defineProject({
  test: {
    name: "@hranad/replication",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
