export { hashPassword, verifyPassword, dummyVerify, needsRehash, DEFAULT_PARAMS, type ScryptParams } from "./password.js";
