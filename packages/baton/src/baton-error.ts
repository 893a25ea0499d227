/**
 * Why a baton was refused.
 * - `BATON_MALFORMED`: not a baton of this format at all (wrong type, length, alphabet, spelling or version).
 * - `BATON_FORGED`: well-formed, but its MAC does not match (tampered, or signed with another key).
 */
export type BatonErrorCode = "BATON_MALFORMED" | "BATON_FORGED";

/** The only error `BatonSigner.verify` ever throws. Its message never echoes the token. */
export class BatonError extends Error {
  override readonly name = "BatonError";
  constructor(
    readonly code: BatonErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isBatonError(error: unknown, code?: BatonErrorCode): error is BatonError {
  return error instanceof BatonError && (code === undefined || error.code === code);
}
