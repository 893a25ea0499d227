import { defineProject } from "vitest/config";

// Worker-thread connections start in ~80 ms each and the machine is shared: generous bounds, no timing asserts.
export default defineProject({
  test: {
    name: "@hranad/session-store",
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
