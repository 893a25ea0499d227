import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { builtModuleUrl } from "../src/index.js";

describe("builtModuleUrl", () => {
  it("maps a src/ module to its dist/ twin and keeps built files", () => {
    const src = new URL("../src/worker.js", import.meta.url);
    expect(builtModuleUrl(src)).toBe(new URL("../dist/worker.js", import.meta.url).href);
    const dist = pathToFileURL(new URL("../dist/index.js", import.meta.url).pathname).href;
    expect(builtModuleUrl(dist)).toBe(dist);
  });
});
