import type { ResultSet, Value } from "@libsql/client";

export type OutputMode = "table" | "json" | "csv";
export const OUTPUT_MODES: readonly OutputMode[] = ["table", "json", "csv"];

function hex(blob: ArrayBuffer): string {
  return Buffer.from(blob).toString("hex").toUpperCase();
}

/** A value as SQL text that reads back as the same value and type (`.dump`). */
export function sqlLiteral(value: Value): string {
  if (value === null) return "NULL";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NULL";
    if (value === Infinity) return "1e999";
    if (value === -Infinity) return "-1e999";
    const text = String(value);
    // A REAL with an integral value must stay REAL when read back (2.0, not 2).
    return /[.eE]/.test(text) ? text : `${text}.0`;
  }
  if (typeof value === "boolean") return value ? "1" : "0";
  if (value instanceof ArrayBuffer) return `X'${hex(value)}'`;
  return `'${value.replaceAll("'", "''")}'`;
}

function cellText(value: Value): string {
  if (value === null) return "NULL";
  if (value instanceof ArrayBuffer) return `X'${hex(value)}'`;
  if (typeof value === "number") return sqlLiteral(value); // a REAL shows as one: 2.0
  return String(value);
}

function width(text: string): number {
  return [...text].length;
}

function table(rs: ResultSet): string {
  const header = rs.columns;
  const rows = rs.rows.map((row) => header.map((_, i) => row[i] ?? null));
  const texts = rows.map((row) => row.map(cellText));
  const widths = header.map((name, i) => Math.max(width(name), ...texts.map((row) => width(row[i]!))));
  const rule = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const line = (cells: string[], right: boolean[]): string =>
    `| ${cells
      .map((cell, i) => {
        const pad = " ".repeat(widths[i]! - width(cell));
        return right[i] ? pad + cell : cell + pad;
      })
      .join(" | ")} |`;
  const out = [rule, line(header, header.map(() => false)), rule];
  rows.forEach((row, r) => {
    out.push(line(texts[r]!, row.map((v) => typeof v === "number" || typeof v === "bigint")));
  });
  if (rows.length > 0) out.push(rule);
  return `${out.join("\n")}\n`;
}

function jsonValue(value: Value): string {
  if (value === null) return "null";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? sqlLiteral(value) : "null";
  if (typeof value === "boolean") return String(value);
  if (value instanceof ArrayBuffer) return JSON.stringify(hex(value));
  return JSON.stringify(value);
}

function json(rs: ResultSet): string {
  if (rs.rows.length === 0) return "[]\n";
  const rows = rs.rows.map(
    (row) => `{${rs.columns.map((name, i) => `${JSON.stringify(name)}:${jsonValue(row[i] ?? null)}`).join(",")}}`,
  );
  return `[${rows.join(",\n")}]\n`;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csv(rs: ResultSet): string {
  const lines = [rs.columns.map(csvField).join(",")];
  for (const row of rs.rows) {
    lines.push(
      rs.columns
        .map((_, i) => {
          const value = row[i] ?? null;
          if (value === null) return "";
          if (value instanceof ArrayBuffer) return hex(value);
          return csvField(String(value));
        })
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** A result as the user sees it; a statement that returns no columns prints nothing. */
export function formatResult(rs: ResultSet, mode: OutputMode): string {
  if (rs.columns.length === 0) return "";
  if (mode === "json") return json(rs);
  if (mode === "csv") return csv(rs);
  return table(rs);
}
