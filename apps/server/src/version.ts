import { readFileSync } from "node:fs";

/** The server's version, read from its package.json once at load. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
