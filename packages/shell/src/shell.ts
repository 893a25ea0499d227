import { readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { createClient, type Client } from "@libsql/client";
import { USAGE, UsageError, parseArgs, type ShellOptions } from "./args.js";
import { dump, indexes, schema, tables } from "./dot.js";
import { OUTPUT_MODES, formatResult, type OutputMode } from "./format.js";
import { Session, ShellError, describeError, type FailureKind } from "./session.js";
import { StatementSplitter, isDotCommand, splitScript, type Piece } from "./split.js";

/** Where the shell reads and writes; `runShell` uses the process's by default. */
export interface ShellIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Exit codes: success, an SQL error, a usage or connection error. */
export const EXIT_OK = 0;
export const EXIT_SQL_ERROR = 1;
export const EXIT_USAGE_OR_CONNECTION = 2;

const PROMPT = "hranad> ";
const PROMPT_TX = "hranad*> ";
const PROMPT_MORE = "   ...> ";

export const DOT_HELP = `.dump [TABLE]          SQL that recreates the database (or TABLE); load it with: hranad shell URL < dump.sql
.help                  this text
.indexes [TABLE]       names of indexes (of TABLE)
.mode [table|json|csv] how results are printed; without an argument, the current mode
.quit, .exit           leave the shell (Ctrl-D too)
.read FILE             run the statements of FILE
.schema [TABLE]        the CREATE statements (of TABLE, its indexes and triggers)
.tables [PATTERN]      names of tables and views (matching the LIKE pattern)
.timer on|off          print how long each statement took
Statements end with ";" and may span lines. Ctrl-C cancels the statement being typed.
BEGIN … COMMIT/ROLLBACK run as one transaction (the prompt shows hranad*> meanwhile).
`;

function exitCode(kind: FailureKind): number {
  return kind === "sql" ? EXIT_SQL_ERROR : EXIT_USAGE_OR_CONNECTION;
}

class Shell {
  mode: OutputMode;
  timer = false;
  quit = false;
  readonly session: Session;

  constructor(
    readonly io: ShellIo,
    client: Client,
    options: ShellOptions,
  ) {
    this.session = new Session(client);
    this.mode = options.mode;
  }

  out(text: string): void {
    if (text) this.io.stdout.write(text);
  }

  error(message: string): void {
    this.io.stderr.write(`Error: ${message}\n`);
  }

  /** Runs one statement or dot-command and prints its result; throws ShellError. */
  async run(piece: Piece, source: string | null): Promise<void> {
    if (isDotCommand(piece)) return this.dot(piece.dot);
    const started = performance.now();
    let rs;
    try {
      rs = await this.session.execute(piece.sql);
    } catch (error) {
      const failure = describeError(error);
      throw new ShellError(source ? `${source}:${piece.line}: ${failure.message}` : failure.message, failure.kind);
    }
    if (rs) this.out(formatResult(rs, this.mode));
    if (this.timer) this.out(`Run Time: real ${((performance.now() - started) / 1000).toFixed(3)}\n`);
  }

  async dot(line: string): Promise<void> {
    const [command = "", ...args] = line.slice(1).trim().split(/\s+/);
    const arg = args[0];
    try {
      switch (command) {
        case "quit":
        case "exit":
        case "q":
          this.quit = true;
          return;
        case "help":
          return this.out(DOT_HELP);
        case "tables":
          return this.out(await tables(this.session, arg));
        case "schema":
          return this.out(await schema(this.session, arg));
        case "indexes":
        case "indices":
          return this.out(await indexes(this.session, arg));
        case "dump":
          return await dump(this.session, (text) => this.out(text), arg);
        case "mode":
          if (arg === undefined) return this.out(`${this.mode}\n`);
          if (!(OUTPUT_MODES as readonly string[]).includes(arg)) {
            throw new ShellError(`.mode must be one of ${OUTPUT_MODES.join(", ")}`, "sql");
          }
          this.mode = arg as OutputMode;
          return;
        case "timer":
          if (arg !== "on" && arg !== "off") throw new ShellError(".timer on|off", "sql");
          this.timer = arg === "on";
          return;
        case "read": {
          if (arg === undefined) throw new ShellError(".read FILE", "sql");
          const path = resolve(this.io.cwd, line.slice(1).trim().slice("read".length).trim());
          let text: string;
          try {
            text = readFileSync(path, "utf8");
          } catch (error) {
            throw new ShellError(`cannot read ${arg}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, "sql");
          }
          for (const piece of splitScript(text)) {
            await this.run(piece, arg);
            if (this.quit) return;
          }
          return;
        }
        default:
          throw new ShellError(`unknown command .${command} (enter .help for the list)`, "sql");
      }
    } catch (error) {
      throw describeError(error);
    }
  }

  /**
   * Runs a whole input (a file, stdin, -c). With `transaction`, all of it runs in one transaction (nothing is
   * applied unless everything is), except an input that has its own BEGIN … COMMIT: it runs as written. Stops at
   * the first error.
   */
  async script(text: string, source: string, transaction: boolean): Promise<number> {
    const pieces = splitScript(text);
    const ownTransaction = pieces.some((p) => !isDotCommand(p) && /^\s*(BEGIN|COMMIT|END|ROLLBACK)\b/i.test(p.sql));
    const wrap = transaction && !ownTransaction;
    try {
      if (wrap) await this.session.begin("write");
      for (const piece of pieces) {
        await this.run(piece, source);
        if (this.quit) break;
      }
      if (wrap) await this.session.commit();
      return EXIT_OK;
    } catch (error) {
      const failure = describeError(error);
      if (wrap || this.session.inTransaction) await this.session.rollback();
      this.error(failure.message);
      if (wrap && failure.kind === "sql") this.io.stderr.write("(the script ran in one transaction: nothing was applied)\n");
      return exitCode(failure.kind);
    }
  }

  /** The interactive loop: readline with history on a terminal, prompts also when forced on a pipe. */
  async interactive(url: string): Promise<number> {
    const terminal = this.io.stdin.isTTY === true;
    const historyFile = this.io.env.HRANAD_SHELL_HISTORY || resolve(homedir(), ".hranad_shell_history");
    const rl = createInterface({
      input: this.io.stdin,
      output: this.io.stdout,
      terminal,
      history: terminal ? loadHistory(historyFile) : [],
      historySize: 1000,
      removeHistoryDuplicates: true,
    });
    if (terminal) rl.on("history", (history: string[]) => saveHistory(historyFile, history));
    const splitter = new StatementSplitter();
    const prompt = (): void => {
      rl.setPrompt(splitter.pending ? PROMPT_MORE : this.session.inTransaction ? PROMPT_TX : PROMPT);
      rl.prompt();
    };
    rl.on("SIGINT", () => {
      const typing = splitter.pending || rl.line.length > 0;
      splitter.reset();
      clearLine(rl);
      this.out(typing ? "^C\n" : "^C (enter .quit or press Ctrl-D to leave)\n");
      prompt();
    });
    this.out(`Connected to ${url}. Enter ".help" for usage.\n`);
    prompt();
    let lost = false;
    const step = async (pieces: Piece[]): Promise<void> => {
      for (const piece of pieces) {
        try {
          await this.run(piece, null);
        } catch (error) {
          const failure = describeError(error);
          this.error(failure.message);
          if (failure.kind === "connection" && !(await this.reachable())) {
            lost = true;
            this.quit = true;
          }
        }
        if (this.quit) return;
      }
    };
    for await (const line of rl) {
      await step(splitter.push(line));
      if (this.quit) break;
      prompt();
    }
    if (!this.quit && !terminal) {
      const last = splitter.finish();
      if (last) await step([last]);
    }
    if (terminal && !this.quit) this.out("\n");
    rl.close();
    return lost ? EXIT_USAGE_OR_CONNECTION : EXIT_OK;
  }

  async reachable(): Promise<boolean> {
    try {
      await this.session.client.execute("SELECT 1");
      return true;
    } catch {
      return false;
    }
  }
}

/** Drops the line being typed. (Key presses such as Ctrl-U do nothing on a TERM=dumb terminal: reset the state.) */
function clearLine(rl: Interface): void {
  const editable = rl as unknown as { line: string; cursor: number };
  editable.line = "";
  editable.cursor = 0;
}

function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).reverse().slice(0, 1000);
  } catch {
    return [];
  }
}

function saveHistory(file: string, history: readonly string[]): void {
  try {
    writeFileSync(file, `${[...history].reverse().join("\n")}\n`, { mode: 0o600 });
  } catch {
    // history is a convenience: an unwritable home does not stop the shell
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

function processIo(): ShellIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/**
 * `hranad shell [URL] [options]`: resolves to the exit code (0 success, 1 an SQL error, 2 a usage or connection
 * error). Reports every failure as one line on stderr, never with a stack trace.
 */
export async function runShell(argv: readonly string[], io: ShellIo = processIo()): Promise<number> {
  let options: ShellOptions;
  try {
    options = parseArgs(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`hranad shell: ${error.message}\n${USAGE}`);
    return EXIT_USAGE_OR_CONNECTION;
  }
  if (options.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  let script: { text: string; source: string } | undefined;
  if (options.file !== undefined) {
    try {
      script = { text: readFileSync(resolve(io.cwd, options.file), "utf8"), source: options.file };
    } catch (error) {
      io.stderr.write(`hranad shell: cannot read ${options.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
      return EXIT_USAGE_OR_CONNECTION;
    }
  } else if (options.command !== undefined) {
    script = { text: options.command, source: "-c" };
  }

  let client: Client;
  try {
    client = createClient({ url: options.url, authToken: options.authToken, intMode: "bigint" });
    await client.execute("SELECT 1");
  } catch (error) {
    io.stderr.write(`hranad shell: cannot connect to ${options.url}: ${describeError(error).message}\n`);
    return EXIT_USAGE_OR_CONNECTION;
  }
  const shell = new Shell(io, client, options);
  try {
    if (script) return await shell.script(script.text, script.source, script.source !== "-c" && options.transaction);
    if (options.interactive || io.stdin.isTTY === true) return await shell.interactive(options.url);
    return await shell.script(await readAll(io.stdin), "<stdin>", options.transaction);
  } finally {
    await shell.session.close();
  }
}
