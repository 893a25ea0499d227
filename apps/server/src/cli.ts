import { restoreCommand } from "@hranad/replication";
import { ConfigError, USAGE, loadConfigFile, resolveCli } from "./config.js";
import { startServer } from "./server.js";
import { isLoopback } from "./server-context.js";
import { VERSION } from "./version.js";

/** The `hranad` command (`hranad shell …` is the SQL shell of @hranad/shell): resolves the configuration, starts the server and shuts it down on SIGTERM/SIGINT. */
export async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === "restore") {
    process.exitCode = await restoreCommand(argv.slice(1), {
      loadConfig: loadConfigFile,
      out: (line) => void process.stdout.write(`${line}\n`),
      err: (line) => void process.stderr.write(`${line}\n`),
    });
    return;
  }
  if (argv[0] === "shell") {
    const { runShell } = await import("@hranad/shell");
    process.exitCode = await runShell(argv.slice(1));
    return;
  }
  let options;
  try {
    options = resolveCli(argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`hranad: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (options.version) {
    process.stdout.write(`hranad ${VERSION}\n`);
    return;
  }
  const server = await startServer(options.config);
  // A safety net, not a design: every request path handles its own failures and closes only its own socket or
  // stream. Should a promise still reject unobserved (a bug), log it and keep serving every other client rather
  // than let Node end the process.
  process.on("unhandledRejection", (reason: unknown) => {
    server.app.log.error({ err: reason }, "unhandled promise rejection (a bug): the server keeps running");
  });
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  log(`hranad ${VERSION}: serving ${options.config.databases.map((d) => d.name).join(", ")} from ${options.config.dataDir}`);
  if (isLoopback(options.config.host)) {
    log("WARNING: open mode — no principals are configured, so every request has full access. For loopback development only.");
  } else {
    log(`WARNING: open mode on a non-loopback address (${options.config.host}) — anyone who can reach it has full access.`);
  }
  log(`listening on ${server.url}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down (rolling back open streams, checkpointing)…`);
    server.close().then(
      () => {
        log("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`hranad: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
