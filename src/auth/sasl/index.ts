export type { SaslBackend, SaslMechanism, SaslStep, ScramCredentials, ScramLookup } from "./types.js";
export { PlainMechanism } from "./plain.js";
export { LoginMechanism } from "./login.js";
export { ScramSha256Mechanism, scramKeys, parseScramKeys, deriveScramKeys, formatScramKeys, fakeScramCredentials, SCRAM_MIN_ITERATIONS } from "./scram.js";
export { saslprep } from "./saslprep.js";
