// Runs every server benchmark one after the other, each in its own process (so one's server and heap cannot
// colour the next), passing the flags through (`--quick`), then repeats their SUMMARY lines.
//   node bench/run-all.mjs [--quick] [--cpu-prof]      (or: pnpm bench [-- --quick])
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const flags = process.argv.slice(2).filter((a) => a !== "--");
const quick = flags.includes("--quick");

const benchmarks = [
  { file: "http-point-select.mjs", args: flags },
  { file: "ws-point-select.mjs", args: flags },
  { file: "writers.mjs", args: flags },
  { file: "starvation.mjs", args: [] },
  { file: "cursor-memory.mjs", args: flags },
  { file: "idle-sessions.mjs", args: flags },
];
// The driver-level isolation benchmark (owned separately) takes no flags; fewer connections in quick mode.
if (existsSync(join(here, "isolation.mjs"))) {
  benchmarks.push({
    file: "isolation.mjs",
    args: [],
    nodeArgs: ["--expose-gc"],
    env: quick && process.env.ISOLATION_CONNECTIONS === undefined ? { ISOLATION_CONNECTIONS: "50" } : {},
  });
}

function run({ file, args, nodeArgs = [], env = {} }) {
  return new Promise((resolve) => {
    const started = performance.now();
    let output = "";
    const child = spawn(process.execPath, [...nodeArgs, join(here, file), ...args], {
      cwd: here,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env },
    });
    child.stdout.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on("exit", (code, signal) => {
      // Ours print `SUMMARY name: …`; isolation.mjs ends with `isolation: PASS|FAIL`.
      const summary = output
        .split("\n")
        .filter((line) => line.startsWith("SUMMARY") || /^[\w-]+: (PASS|FAIL)\b/.test(line))
        .join("\n");
      resolve({ file, code, signal, seconds: (performance.now() - started) / 1000, summary });
    });
  });
}

const results = [];
for (const benchmark of benchmarks) {
  console.log(`\n=== ${benchmark.file} ${benchmark.args.join(" ")}`.trimEnd());
  results.push(await run(benchmark));
}
console.log("\n=== summaries");
for (const r of results) {
  console.log(r.summary || `${r.file}: no SUMMARY line`);
  console.log(`  (${r.file}: exit ${r.signal ?? r.code}, ${r.seconds.toFixed(0)} s)`);
}
const failed = results.filter((r) => r.code !== 0);
console.log(`\n${results.length - failed.length} benchmarks met their targets, ${failed.length} did not${failed.length ? `: ${failed.map((r) => r.file).join(", ")}` : ""}`);
process.exitCode = failed.length === 0 ? 0 : 1;
