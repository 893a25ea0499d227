export { startTestServer, type TestServer } from "../testing/index.js";

/** Posts a raw Hrana pipeline body and returns status, content type and parsed JSON (or text). */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; json: any; text: string }> {
  const response = await fetch(url, {
    method: "POST",
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    headers,
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, type: response.headers.get("content-type"), json, text };
}
