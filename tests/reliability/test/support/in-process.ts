import { startTestServer, type TestServer } from "@hranad/server/testing";

export type InProcessServer = TestServer;

/** Starts the server in this process on 127.0.0.1 port 0 with its own temp data dir (databases `default`, `other`). */
export function startInProcess(overrides: Record<string, unknown> = {}): Promise<InProcessServer> {
  return startTestServer(overrides, "hranad-reliability-inproc-");
}
