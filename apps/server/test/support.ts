import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, startServer, type HranadServer, type ServerConfig } from "../src/index.js";

export interface TestServer {
  readonly server: HranadServer;
  readonly dataDir: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `ws://127.0.0.1:PORT` */
  readonly wsUrl: string;
  close(): Promise<void>;
}

/** Starts a real server on port 0 with its own data directory. */
export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "hranad-server-"));
  const config: ServerConfig = parseConfig({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    logLevel: "silent",
    databases: [
      { name: "default", mode: "create" },
      { name: "other", mode: "create" },
    ],
    ...overrides,
  });
  const server = await startServer(config);
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

/** Posts a raw Hrana pipeline body and returns status, content type and parsed JSON (or text). */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; json: any; text: string }> {
  const response = await fetch(url, {
    method: "POST",
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    headers,
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, type: response.headers.get("content-type"), json, text };
}
