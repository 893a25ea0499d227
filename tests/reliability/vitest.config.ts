import { defineProject } from "vitest/config";

// The suites load the 2-core machine on purpose: run them one file at a time, after the other packages' tests.
export default defineProject({
  test: {
    name: "@hranad/reliability",
    sequence: { groupOrder: 1 },
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
