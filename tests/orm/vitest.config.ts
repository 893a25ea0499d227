import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@hranad/orm-tests",
    // Generates the Prisma client (offline) before any test imports it.
    globalSetup: ["./scripts/prisma-generate.mjs"],
    // Subprocesses (node, prisma, drizzle-kit) load the machine: run after the timing-sensitive suites, not beside them.
    sequence: { groupOrder: 2 },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
