// Reads the real wire traces in /work/shared/docs/traces (copied into test/fixtures so the package is self-contained).
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dirname, "fixtures");

export interface HttpExchange {
  readonly request: string;
  readonly response: string;
}

/** `>>> POST …` is followed by the request body line; `<<< 200 …` by the response body line. */
export function httpExchanges(): HttpExchange[] {
  const lines = readFileSync(join(dir, "http-v2.txt"), "utf8").split("\n");
  const exchanges: HttpExchange[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.startsWith(">>> POST")) {
      const request = lines[i + 1] as string;
      const statusLine = lines[i + 2] as string;
      if (!statusLine.startsWith("<<< 200")) throw new Error(`unexpected trace line ${statusLine}`);
      exchanges.push({ request, response: lines[i + 3] as string });
    }
  }
  return exchanges;
}

export function wsLines(): { client: string[]; server: string[] } {
  const lines = readFileSync(join(dir, "ws-v2.txt"), "utf8").split("\n");
  return {
    client: lines.filter((l) => l.startsWith("C> ")).map((l) => l.slice(3)),
    server: lines.filter((l) => l.startsWith("S< ")).map((l) => l.slice(3)),
  };
}
