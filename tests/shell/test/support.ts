import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The real `hranad` command of this workspace (built by `pnpm test`). */
export const HRANAD = join(import.meta.dirname, "..", "..", "..", "apps", "server", "bin", "hranad.js");

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `hranad shell ARGS` with `input` on its stdin (a pipe, so not a terminal) and collects what it prints. */
export function shell(args: readonly string[], input = "", env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  const child = spawn(process.execPath, [HRANAD, "shell", ...args], {
    env: { ...process.env, HRANAD_AUTH_TOKEN: "", ...env },
    cwd,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const dirs: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hranad-shell-"));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A stack trace line, which the shell must never print for an SQL or connection error. */
export const STACK = /^\s+at /m;
