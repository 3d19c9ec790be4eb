/** FETCH's message views: ENVELOPE, BODY/BODYSTRUCTURE, BODY[section] and BINARY[section]. */
export { envelopeValue } from "./envelope.js";
export { bodyStructureValue } from "./bodystructure.js";
export { binaryBytes, sectionBytes } from "./section.js";
