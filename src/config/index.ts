export { configSchema, type Config, type ConfigInput } from "./schema.js";
export { loadConfig, type LoadedConfig, type LoadOptions } from "./load.js";
export { DEVELOPMENT_PROFILE, DEVELOPMENT_DOMAIN } from "./profiles.js";
export { parseDuration } from "./duration.js";
export { parseSize } from "./size.js";
