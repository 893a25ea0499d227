/** One complete SQL statement of an input, with the line (1-based) where its first token is. */
export interface Statement {
  readonly sql: string;
  readonly line: number;
}

/** A line of input that is a dot-command (`.tables`, `.mode json`…), typed where a statement could start. */
export interface DotCommand {
  readonly dot: string;
  readonly line: number;
}

export type Piece = Statement | DotCommand;

const WORD = /[A-Za-z0-9_$]/;

/**
 * Splits SQL input, fed line by line, into statements ended by `;` (outside strings, quoted identifiers and comments;
 * inside `CREATE TRIGGER … BEGIN … END` only the `;` after `END` ends the statement) and dot-commands (a line that
 * starts with `.` where no statement is under way). Comments before a statement are dropped.
 */
export class StatementSplitter {
  #line = 0;
  #buffer = "";
  #start: number | null = null;
  #quote: string | null = null;
  #blockComment = false;
  #words: string[] = [];
  #word = "";
  #lastWord = "";

  /** True while a statement (or a string or block comment) has begun and is not yet ended by `;`. */
  get pending(): boolean {
    return this.#start !== null || this.#quote !== null || this.#blockComment;
  }

  /** Forgets the statement under way (Ctrl-C). */
  reset(): void {
    this.#buffer = "";
    this.#start = null;
    this.#quote = null;
    this.#blockComment = false;
    this.#words = [];
    this.#word = "";
    this.#lastWord = "";
  }

  /** Feeds one line (without its line break); returns what it completed. */
  push(text: string): Piece[] {
    this.#line += 1;
    if (!this.pending && text.trimStart().startsWith(".")) {
      return [{ dot: text.trim(), line: this.#line }];
    }
    const out: Piece[] = [];
    const line = `${text}\n`;
    for (let i = 0; i < line.length; i += 1) {
      const c = line[i]!;
      if (this.#blockComment) {
        if (this.#start !== null) this.#buffer += c;
        if (c === "*" && line[i + 1] === "/") {
          if (this.#start !== null) this.#buffer += "/";
          i += 1;
          this.#blockComment = false;
        }
        continue;
      }
      if (this.#quote !== null) {
        this.#buffer += c;
        if (c === this.#quote) {
          if (this.#quote !== "]" && line[i + 1] === this.#quote) {
            this.#buffer += c;
            i += 1;
          } else {
            this.#quote = null;
          }
        }
        continue;
      }
      if (c === "-" && line[i + 1] === "-") {
        this.#endWord();
        if (this.#start !== null) this.#buffer += line.slice(i, -1);
        break;
      }
      if (c === "/" && line[i + 1] === "*") {
        this.#endWord();
        this.#blockComment = true;
        if (this.#start !== null) this.#buffer += "/*";
        i += 1;
        continue;
      }
      if (/\s/.test(c)) {
        this.#endWord();
        if (this.#start !== null) this.#buffer += c;
        continue;
      }
      if (this.#start === null) {
        if (c === ";") continue; // an empty statement
        this.#start = this.#line;
      }
      if (WORD.test(c)) {
        this.#word += c;
        this.#buffer += c;
        continue;
      }
      this.#endWord();
      if (c === ";") {
        if (this.#isTrigger() && this.#lastWord !== "END") {
          this.#buffer += c;
          this.#lastWord = "";
          continue;
        }
        out.push(this.#take());
        continue;
      }
      this.#buffer += c;
      this.#lastWord = "";
      if (c === "'" || c === '"' || c === "`") this.#quote = c;
      else if (c === "[") this.#quote = "]";
    }
    return out;
  }

  /** At the end of the input: the last statement if it lacks its `;` (it runs as if it had one). */
  finish(): Statement | null {
    this.#endWord();
    if (this.#start === null) {
      this.reset();
      return null;
    }
    return this.#take();
  }

  #take(): Statement {
    const statement = { sql: this.#buffer.trim(), line: this.#start ?? this.#line };
    this.reset();
    return statement;
  }

  #endWord(): void {
    if (this.#word === "") return;
    const word = this.#word.toUpperCase();
    if (this.#words.length < 4) this.#words.push(word);
    this.#lastWord = word;
    this.#word = "";
  }

  #isTrigger(): boolean {
    const [first, second, third] = this.#words;
    if (first !== "CREATE") return false;
    return second === "TRIGGER" || ((second === "TEMP" || second === "TEMPORARY") && third === "TRIGGER");
  }
}

/** Splits a whole input (a file, stdin, `-c`) into statements and dot-commands. */
export function splitScript(text: string): Piece[] {
  const splitter = new StatementSplitter();
  const pieces: Piece[] = [];
  for (const line of text.split(/\r?\n/)) pieces.push(...splitter.push(line));
  const last = splitter.finish();
  if (last) pieces.push(last);
  return pieces;
}

export function isDotCommand(piece: Piece): piece is DotCommand {
  return "dot" in piece;
}
