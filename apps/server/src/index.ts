export { startServer, type HranadServer } from "./server.js";
export type { ServerContext } from "./server-context.js";
export {
  parseConfig,
  loadConfigFile,
  resolveCli,
  ConfigError,
  DEFAULT_CONFIG,
  DEFAULT_LIMITS,
  type ServerConfig,
  type Limits,
  type DatabaseSettings,
  type DatabaseMode,
} from "./config.js";
export { ServerError } from "./errors.js";
export { VERSION } from "./version.js";
