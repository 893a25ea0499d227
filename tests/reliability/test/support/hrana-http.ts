/** Small `fetch` helpers for Hrana over HTTP (JSON), for suites that send a few hand-written requests. */

export interface HttpAnswer {
  readonly status: number;
  readonly type: string | null;
  readonly text: string;
  readonly json: any;
}

export async function post(url: string, body: unknown, signal?: AbortSignal): Promise<HttpAnswer> {
  const response = await fetch(url, {
    method: "POST",
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    ...(signal !== undefined ? { signal } : {}),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, type: response.headers.get("content-type"), text, json };
}

export const execute = (sql: string, args: unknown[] = []) => ({ type: "execute", stmt: { sql, args, want_rows: true } });
export const close = { type: "close" } as const;
export const text = (value: string) => ({ type: "text", value });

/** The first value of the first row of result `index` of a pipeline answer, as a string. */
export function scalar(answer: HttpAnswer, index = 0): string | null {
  const result = answer.json?.results?.[index];
  if (result?.type !== "ok") throw new Error(`result ${index} is not ok: ${answer.text.slice(0, 300)}`);
  const value = result.response.result.rows[0]?.[0];
  return value === undefined || value.type === "null" ? null : String(value.value);
}
