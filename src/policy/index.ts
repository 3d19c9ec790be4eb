export { relayVerdict, hasRoutingTrick, type RelayContext } from "./relay.js";
