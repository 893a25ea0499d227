import { rmSync } from "node:fs";
import { parseConfig, startServer, type HranadServer } from "@hranad/server";
import { tempDir } from "./hranad-process.js";

export interface InProcessServer {
  readonly server: HranadServer;
  readonly dataDir: string;
  readonly url: string;
  readonly wsUrl: string;
  close(): Promise<void>;
}

/** Starts the server in this process on 127.0.0.1 port 0 with its own temp data dir (databases `default`, `other`). */
export async function startInProcess(overrides: Record<string, unknown> = {}): Promise<InProcessServer> {
  const dataDir = tempDir("inproc");
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
