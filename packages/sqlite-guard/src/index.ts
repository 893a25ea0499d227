export { extensionPath, GUARD_FUNCTIONS, GUARD_ERRORS, MAX_DEADLINE_MS } from "./extension.js";
export type { GuardFunctionName } from "./extension.js";
export { queryOneFrom } from "./query.js";
export type { GuardArgument, GuardableDatabase, QueryOne } from "./query.js";
export {
  claimGuardToken,
  setReadOnly,
  setDeadline,
  setAttachAllowed,
  takeDirty,
  interruptKey,
  interruptByKey,
} from "./guard.js";
export { interruptConnection } from "./control.js";
export { describe, parseDescription } from "./describe.js";
export type { GuardColumn, GuardDescription } from "./describe.js";
