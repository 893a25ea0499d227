import { defineProject } from "vitest/config";

// Every test runs the real `hranad shell` as a subprocess (a Node start each): allow for a loaded machine.
export default defineProject({
  test: {
    name: "@hranad/shell-tests",
    // Subprocesses (node, prisma, drizzle-kit) load the machine: run after the timing-sensitive suites, not beside them.
    sequence: { groupOrder: 2 },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
