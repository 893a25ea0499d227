import { defineProject } from "vitest/config";

// Every test runs the real `hranad shell` as a subprocess (a Node start each): allow for a loaded machine.
export default defineProject({
  test: {
    name: "@hranad/shell-tests",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
