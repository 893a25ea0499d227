// Generates the Prisma client into build/prisma (gitignored), offline: `prisma generate` compiles the schema with
// wasm, and PRISMA_SCHEMA_ENGINE_BINARY (any existing file) stops the CLI from downloading a schema-engine binary
// that generation does not use. Run by the test's global setup and before the typecheck.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export default function generate() {
  const cli = createRequire(join(root, "package.json")).resolve("prisma/build/index.js");
  const run = spawnSync(process.execPath, [cli, "generate"], {
    cwd: root,
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: fileURLToPath(import.meta.url),
      CHECKPOINT_DISABLE: "1",
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
    encoding: "utf8",
  });
  if (run.status !== 0) {
    throw new Error(`prisma generate failed (${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) generate();
