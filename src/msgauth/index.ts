export { DkimSignStream, SIGNED_FIELDS, OVERSIGNED_FIELDS, MAX_SIGNED_HEADER, type DkimSigningKey } from "./dkim-sign.js";
export {
  generateDkimKeyPair,
  dkimPublicKeyData,
  dkimRecordName,
  dkimRecordValue,
  zoneFileStrings,
  isValidSelector,
  defaultSelector,
  type DkimKeyAlgorithm,
  type DkimKeyPair,
} from "./dkim-keys.js";
export { MessageVerifier, checkSpf, unmapIp, type VerifyOptions, type VerifyResults } from "./verify.js";
export { authResultsField, authservIdOf, claimsAuthservId } from "./auth-results.js";
export { ForgedResultsFilter } from "./forged-results.js";
export { arcSeal, type ArcSealKey, type ArcSealOptions, type ArcSealResult } from "./arc-seal.js";
