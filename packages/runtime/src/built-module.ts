import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * The file URL of a module's compiled JavaScript. Code in `dist/` resolves to itself; code running from `src/*.ts`
 * (under vitest) resolves `src/x.js` to its built twin `dist/x.js`, because workers load plain JavaScript only.
 */
export function builtModuleUrl(url: URL | string): string {
  const href = typeof url === "string" ? url : url.href;
  if (!href.startsWith("file:")) return href;
  const path = fileURLToPath(href);
  if (existsSync(path) && !path.endsWith(".ts")) return href;
  const index = path.lastIndexOf("/src/");
  if (index < 0) return href;
  const twin = `${path.slice(0, index)}/dist/${path.slice(index + 5)}`.replace(/\.ts$/, ".js");
  return pathToFileURL(twin).href;
}
