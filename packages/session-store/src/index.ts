export { SessionStore, SessionStore as Store, STORE_DEFAULTS } from "./store.js";
export type {
  StoreOptions,
  SessionDatabase,
  DatabaseRelease,
  OpenSessionOptions,
  KillResult,
  TerminateReason,
  SessionInfo,
  TeardownErrorContext,
} from "./store.js";
export { Session } from "./session.js";
export type { SessionConnection } from "./session-connection.js";
export type { Poison } from "./session-state.js";
export type { EndReason } from "./tombstones.js";
export { systemClock, ManualClock } from "./clock.js";
export type { Clock, TimerHandle } from "./clock.js";
export {
  SessionError,
  BadBatonError,
  TooManySessionsError,
  TooManyClientSessionsError,
  PrincipalMismatchError,
  TransactionAbortedError,
  SESSION_ERROR_CODES,
  isSessionError,
} from "./errors.js";
export type { SessionErrorCode, BadBatonCode } from "./errors.js";
