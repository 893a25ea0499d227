/**
 * `@hranad/server/testing`: test support, not part of the server — a real server started in this process for a
 * test, on its own data directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, startServer, type HranadServer } from "@hranad/server";

/** A server started for a test, with its own data directory that `close()` removes. */
export interface TestServer {
  readonly server: HranadServer;
  readonly dataDir: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `ws://127.0.0.1:PORT` */
  readonly wsUrl: string;
  close(): Promise<void>;
}

/**
 * Starts a real server in this process on 127.0.0.1, port 0, logging nothing, with databases `default` and `other`
 * in a fresh temporary directory. `overrides` are configuration keys (as in the YAML file) over those.
 */
export async function startTestServer(overrides: Record<string, unknown> = {}, prefix = "hranad-test-"): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const server = await startServer(
    parseConfig({
      host: "127.0.0.1",
      port: 0,
      dataDir,
      logLevel: "silent",
      databases: [
        { name: "default", mode: "create" },
        { name: "other", mode: "create" },
      ],
      ...overrides,
    }),
  );
  return {
    server,
    dataDir,
    url: server.url,
    wsUrl: server.url.replace(/^http/, "ws"),
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
