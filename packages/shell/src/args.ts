import { OUTPUT_MODES, type OutputMode } from "./format.js";

/** The local server `hranad` serves by default. */
export const DEFAULT_URL = "http://127.0.0.1:8080";

export const USAGE = `Usage: hranad shell [URL] [options]

A SQL shell for any Hrana server (hranad, sqld, Turso). URL is http(s):// or ws(s):// (libsql:// too);
the default is ${DEFAULT_URL}, the local hranad. A database other than the default: http://HOST:PORT/<db>/.

  --auth-token TOKEN    bearer token (or the environment variable HRANAD_AUTH_TOKEN)
  -c SQL                run SQL and exit
  -f FILE               run the statements of FILE and exit (as does: hranad shell URL < FILE)
  --no-transaction      run a file statement by statement in autocommit (default: all in one transaction,
                        unless the file has its own BEGIN … COMMIT)
  --mode table|json|csv how results are printed (default: table)
  -i, --interactive     read statements from stdin as typed at a terminal, even when stdin is not one
  -h, --help            this text

Exit codes: 0 success, 1 an SQL error (a script stops at the first one and names its line), 2 a usage or
connection error. In the shell, .help lists the dot-commands.
`;

export interface ShellOptions {
  readonly url: string;
  readonly authToken: string | undefined;
  readonly command: string | undefined;
  readonly file: string | undefined;
  readonly transaction: boolean;
  readonly mode: OutputMode;
  readonly interactive: boolean;
  readonly help: boolean;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ShellOptions {
  let url: string | undefined;
  let authToken = env.HRANAD_AUTH_TOKEN || undefined;
  let command: string | undefined;
  let file: string | undefined;
  let transaction = true;
  let mode: OutputMode = "table";
  let interactive = false;
  let help = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      i += 1;
      return next;
    };
    switch (flag) {
      case "--auth-token":
        authToken = value();
        break;
      case "-c":
      case "--command":
        command = value();
        break;
      case "-f":
      case "--file":
        file = value();
        break;
      case "--no-transaction":
        transaction = false;
        break;
      case "--mode": {
        const m = value();
        if (!(OUTPUT_MODES as readonly string[]).includes(m)) {
          throw new UsageError(`--mode must be one of ${OUTPUT_MODES.join(", ")}, not ${JSON.stringify(m)}`);
        }
        mode = m as OutputMode;
        break;
      }
      case "-i":
      case "--interactive":
        interactive = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
        if (url !== undefined) throw new UsageError(`one URL only (got ${url} and ${arg})`);
        url = arg;
    }
  }
  if (command !== undefined && file !== undefined) throw new UsageError("-c and -f cannot be used together");
  return { url: url ?? DEFAULT_URL, authToken, command, file, transaction, mode, interactive, help };
}
