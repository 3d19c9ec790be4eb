export { hashPassword, verifyPassword, dummyVerify, needsRehash, DEFAULT_PARAMS, type ScryptParams } from "./password.js";
export { Authenticator, SASL_MECHANISMS, type AuthenticatorOptions, type LoginContext, type PasswordLogin } from "./authenticator.js";
export { Lockout, afterFailure, ipKey, userKey, DEFAULT_LOCKOUT, type LockoutPolicy } from "./lockout.js";
export * from "./sasl/index.js";
