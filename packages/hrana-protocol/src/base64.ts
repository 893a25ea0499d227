/** Base64 (standard alphabet) as Hrana's JSON encoding uses it for blobs. */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Encodes without `=` padding, as sqld does (clients accept both). */
export function encodeBase64(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  return end === text.length ? text : text.slice(0, end);
}

/** Decodes padded or unpadded base64; `undefined` when the text is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  let dataLength = text.length;
  while (dataLength > 0 && text.charCodeAt(dataLength - 1) === 61) dataLength--;
  const padding = text.length - dataLength;
  const rest = dataLength % 4;
  if (rest === 1) return undefined;
  // With padding, it must complete the last quantum exactly.
  if (padding > 0 && (rest === 0 || rest + padding !== 4)) return undefined;
  const buffer = Buffer.from(text, "base64");
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
