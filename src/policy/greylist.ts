/**
 * Greylisting (RFC 6647): the first delivery attempt of an unknown (client network, envelope
 * sender, recipient) triplet gets a temporary failure at RCPT; a real MTA retries, and a retry
 * after `delay` (and within `window` of the first attempt) passes. A passed triplet is
 * remembered for `passTtl` (refreshed while mail keeps coming), and a client network whose
 * triplets passed `whitelistAfter` times is not greylisted any more (RFC 6647 4.2: auto-
 * whitelisting of networks that have shown they retry).
 *
 * State lives in the store's KeyValueStore, so that it survives restarts and every node of a
 * PostgreSQL cluster sees the same triplets (a client retrying on another MX node still passes).
 */
import type { KeyValueStore } from "../store/types.js";
import { clientNetwork, NetworkList } from "./net.js";

export interface GreylistOptions {
  /** Shortest wait between the first attempt and an accepted retry (ms). */
  delayMs: number;
  /** A retry later than this after the first attempt starts over (ms). */
  windowMs: number;
  /** How long a passed triplet, and a network's pass count, are remembered (ms). */
  passTtlMs: number;
  /** Passed triplets after which the client network is not greylisted any more; 0 = never. */
  whitelistAfter: number;
  /** Networks never greylisted (CIDR). */
  exemptNetworks: readonly string[];
  /** Sender domains not greylisted when SPF passes for them (the check is the caller's hook). */
  spfWhitelist: readonly string[];
}

export interface GreylistRequest {
  ip: string;
  /** Envelope sender ("" for the null reverse-path). */
  sender: string;
  recipient: string;
  /** SPF of the sender for this client; asked only when the sender's domain is on spfWhitelist. */
  spfPass?: () => Promise<boolean>;
}

export type GreylistVerdict =
  | { action: "pass"; reason: "exempt-network" | "spf-whitelist" | "network-whitelisted" | "known" | "retried" }
  | { action: "defer"; reason: "new" | "too-early"; retryInSeconds: number };

const TRIPLET = "grey:t:";
const NETWORK = "grey:n:";

type TripletState = { first: number; passed?: number };

export class Greylist {
  private readonly exempt: NetworkList;
  private readonly spfDomains: Set<string>;

  constructor(
    private readonly kv: KeyValueStore,
    private readonly opts: GreylistOptions,
    private readonly now: () => number,
  ) {
    this.exempt = new NetworkList(opts.exemptNetworks);
    this.spfDomains = new Set(opts.spfWhitelist.map((d) => d.toLowerCase().replace(/\.$/, "")));
  }

  isExempt(ip: string): boolean {
    return this.exempt.has(ip);
  }

  async check(req: GreylistRequest): Promise<GreylistVerdict> {
    if (this.exempt.has(req.ip)) return { action: "pass", reason: "exempt-network" };
    const sender = req.sender.toLowerCase();
    const domain = sender.slice(sender.lastIndexOf("@") + 1);
    if (sender && this.spfDomains.has(domain) && req.spfPass && (await req.spfPass())) return { action: "pass", reason: "spf-whitelist" };
    const net = clientNetwork(req.ip);
    const tripletKey = `${TRIPLET}${net}|${sender}|${req.recipient.toLowerCase()}`;
    const networkKey = `${NETWORK}${net}`;
    const now = this.now();
    const found = await this.kv.get([tripletKey, networkKey], now);
    const network = found[networkKey];
    if (this.opts.whitelistAfter > 0 && network && network.counter >= this.opts.whitelistAfter) return { action: "pass", reason: "network-whitelisted" };
    let entry = found[tripletKey];
    let created = false;
    if (!entry) {
      // Two sessions (or nodes) seeing a new triplet at once: one first attempt is kept.
      const value = JSON.stringify({ first: now } satisfies TripletState);
      entry = await this.kv.putIfAbsent(tripletKey, value, now + this.opts.windowMs, now);
      created = entry.value === value;
    }
    const state = parseState(entry.value, now);
    if (state.passed !== undefined) {
      // Known triplet: keep it alive while mail keeps coming (written at most once an hour).
      const slack = Math.min(3_600_000, this.opts.passTtlMs / 2);
      if (entry.expiresAt - now < this.opts.passTtlMs - slack) await this.kv.put(tripletKey, entry.value, now + this.opts.passTtlMs, now);
      return { action: "pass", reason: "known" };
    }
    const waited = now - state.first;
    if (waited < this.opts.delayMs) {
      return { action: "defer", reason: created ? "new" : "too-early", retryInSeconds: Math.ceil((this.opts.delayMs - waited) / 1000) };
    }
    await this.kv.put(tripletKey, JSON.stringify({ first: state.first, passed: now } satisfies TripletState), now + this.opts.passTtlMs, now);
    if (this.opts.whitelistAfter > 0) await this.kv.increment(networkKey, 1, now + this.opts.passTtlMs, now);
    return { action: "pass", reason: "retried" };
  }

  /** Delete expired triplets and network counts. */
  prune(): Promise<number> {
    return this.kv.prune(this.now());
  }
}

function parseState(value: string, now: number): TripletState {
  try {
    const v = JSON.parse(value) as TripletState;
    if (typeof v.first === "number") return v;
  } catch {
    /* a damaged row: start over */
  }
  return { first: now };
}
