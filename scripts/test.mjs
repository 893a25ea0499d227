#!/usr/bin/env node
// Runs every test of the workspace in one vitest run and prints one closing line `N passed, N failed`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const reportDir = join(root, "node_modules", ".cache");
const report = join(reportDir, "vitest-report.json");
mkdirSync(reportDir, { recursive: true });
rmSync(report, { force: true });

const args = ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)];
const run = spawnSync("pnpm", ["exec", ...args], { cwd: root, stdio: "inherit", env: { ...process.env, FORCE_COLOR: "0" } });

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, "utf8"));
  passed = json.numPassedTests ?? 0;
  // A failed test counts once; a file that failed without any failed test (it did not load, a hook threw) counts
  // as one more failure. (numFailedTestSuites also counts every describe block around a failed test.)
  const brokenFiles = (json.testResults ?? []).filter(
    (file) => file.status === "failed" && !(file.assertionResults ?? []).some((test) => test.status === "failed"),
  ).length;
  failed = (json.numFailedTests ?? 0) + brokenFiles;
  skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
}
if (run.status !== 0 && failed === 0) failed = 1; // the runner itself failed (crash, config error)
if (passed === 0 && failed === 0) failed = 1; // nothing ran is a failure
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
