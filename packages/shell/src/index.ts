export { DEFAULT_URL, USAGE, parseArgs, type ShellOptions } from "./args.js";
export { OUTPUT_MODES, formatResult, sqlLiteral, type OutputMode } from "./format.js";
export { DOT_HELP, EXIT_OK, EXIT_SQL_ERROR, EXIT_USAGE_OR_CONNECTION, runShell, type ShellIo } from "./shell.js";
export { StatementSplitter, splitScript, type DotCommand, type Piece, type Statement } from "./split.js";
