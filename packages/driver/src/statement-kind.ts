/**
 * What kind of statement an SQL text holds, as far as Hrana's result fields care: `affected_row_count` is reported
 * only for INSERT/REPLACE/UPDATE/DELETE and `last_insert_rowid` only for INSERT/REPLACE.
 */
export type StatementKind = "select" | "insert" | "update" | "delete" | "other";

const MAIN_KEYWORDS: Record<string, StatementKind> = {
  SELECT: "select",
  VALUES: "select",
  INSERT: "insert",
  REPLACE: "insert",
  UPDATE: "update",
  DELETE: "delete",
};

/** Yields the upper-cased keywords/identifiers of `sql` with their parenthesis depth, skipping literals and comments. */
function* words(sql: string): Generator<{ word: string; depth: number }> {
  let depth = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    // whitespace
    if (c === 32 || (c >= 9 && c <= 13)) {
      i += 1;
    } else if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      const end = sql.indexOf("\n", i + 2);
      i = end < 0 ? n : end + 1;
    } else if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === 39 /* ' */ || c === 34 /* " */ || c === 96 /* ` */) {
      // quoted literal or identifier; a doubled quote is an escaped quote
      const quote = sql[i] as string;
      i += 1;
      for (;;) {
        const end = sql.indexOf(quote, i);
        if (end < 0) {
          i = n;
          break;
        }
        if (sql[end + 1] === quote) {
          i = end + 2;
          continue;
        }
        i = end + 1;
        break;
      }
    } else if (c === 91 /* [ */) {
      const end = sql.indexOf("]", i + 1);
      i = end < 0 ? n : end + 1;
    } else if (c === 40 /* ( */) {
      depth += 1;
      i += 1;
    } else if (c === 41 /* ) */) {
      depth -= 1;
      i += 1;
    } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127) {
      const start = i;
      i += 1;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95 || d === 36 || d > 127) i += 1;
        else break;
      }
      yield { word: sql.slice(start, i).toUpperCase(), depth };
    } else {
      i += 1;
    }
  }
}

/**
 * Classifies one SQL statement: the first keyword decides, except that a `WITH` prefix is skipped by looking for
 * the first SELECT/VALUES/INSERT/REPLACE/UPDATE/DELETE outside the common table expressions' parentheses, and
 * `EXPLAIN …` is "other" (it reports no changes).
 */
export function statementKind(sql: string): StatementKind {
  const iterator = words(sql);
  const first = iterator.next();
  if (first.done) return "other";
  const keyword = first.value.word;
  if (keyword !== "WITH") return MAIN_KEYWORDS[keyword] ?? "other";
  for (const { word, depth } of iterator) {
    if (depth !== 0) continue;
    const kind = MAIN_KEYWORDS[word];
    if (kind) return kind;
  }
  return "other";
}

/** The first `count` keywords/identifiers of `sql`, upper-cased, skipping comments and literals (as `statementKind`). */
export function leadingWords(sql: string, count: number): string[] {
  const result: string[] = [];
  if (count <= 0) return result;
  for (const { word } of words(sql)) {
    result.push(word);
    if (result.length >= count) break;
  }
  return result;
}
