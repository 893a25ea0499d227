/**
 * `@hranad/runtime`: where connections live. Worker threads host the engine connections of a pool (`WorkerPool`,
 * `createThreadedDriver`), and each database may keep a connection on the main thread for short one-shot work
 * (`Pool.inline`, `InlineShare`).
 */
export { createThreadedDriver, type ThreadedDriverOptions } from "./threaded-driver.js";
export { WorkerPool, type WorkerPoolOptions, type WorkerPoolStats } from "./worker-pool.js";
export { InlineShare } from "./inline.js";
export { builtModuleUrl } from "./built-module.js";
