/**
 * The spam filter step at end of data on the MX listener (spamFilter.enabled): the complete
 * message, as the queue holds it (spool file or memory), goes to the scanner (rspamd); the
 * verdict (policy/spam-filter.ts) is a refusal, or header fields to add (X-Spam, X-Spamd-Result,
 * a rewritten Subject) and a Junk verdict for the queue envelope (queue/verdict.ts), which the
 * local transport honours exactly as for DMARC p=quarantine.
 */
import type { Logger } from "../core/logger.js";
import type { Reply } from "../core/reply.js";
import type { SessionView, TransactionView } from "../smtp/handler.js";
import type { IncomingMessage } from "../queue/incoming.js";
import type { QueueVerdict } from "../queue/verdict.js";
import { formatAddress } from "../core/address.js";
import type { Config } from "../config/schema.js";
import { RspamdClient } from "./rspamd-client.js";
import { rewriteSubject, spamDecision, spamErrorDecision, type SpamFilterPolicy, type SpamScanner } from "../policy/spam-filter.js";

/** Longest header block read back for a Subject rewrite. */
const MAX_HEADER = 1024 * 1024;

export interface SpamOutcome {
  refusal?: Reply;
  /** Octets to put before the message ... */
  header?: Buffer;
  /** ... in place of its first `drop` octets (the header block, for a Subject rewrite). */
  drop?: number;
  verdict?: QueueVerdict;
}

export class SpamFilter {
  constructor(
    private readonly scanner: SpamScanner,
    private readonly policy: SpamFilterPolicy,
    private readonly hostname: string,
    private readonly log: Logger,
  ) {}

  /** MX mail only; undefined when not scanned. */
  async scan(s: SessionView, txn: TransactionView, msg: IncomingMessage): Promise<SpamOutcome | undefined> {
    if (s.listener !== "smtp") return undefined;
    const started = performance.now();
    let decision;
    let result;
    try {
      result = await this.scanner.check({
        ip: s.remoteAddress,
        helo: s.helo ?? "",
        from: txn.from.address ? formatAddress(txn.from.address) : "",
        rcpts: txn.rcpts.map((r) => (r.address.domain ? formatAddress(r.address) : r.address.local)),
        queueId: msg.id,
        user: s.authUser,
        mta: this.hostname,
        message: () => msg.content(),
      });
      decision = spamDecision(result, this.policy);
    } catch (e) {
      decision = spamErrorDecision(this.policy);
      this.log.warn({ event: "spam-filter-error", session: s.id, queueId: msg.id, err: (e as Error).message, onError: this.policy.onError }, `spam filter: ${(e as Error).message}`);
    }
    const ms = Math.round(performance.now() - started);
    if (result) {
      this.log.info({ event: "spam-filter", session: s.id, queueId: msg.id, action: result.action, score: result.score, required: result.requiredScore, symbols: result.symbols.slice(0, 20).map((x) => x.name), ms }, `spam filter: ${result.action} (${result.score})`);
    }
    if (decision.action === "refuse") return { refusal: decision.reply };
    const out: SpamOutcome = {};
    if (decision.junk) out.verdict = { action: "quarantine", reason: decision.junk };
    let header = Buffer.from(decision.header, "latin1");
    if (decision.subject !== undefined) {
      const block = await readHeaderBlock(msg);
      if (block) {
        header = Buffer.concat([header, rewriteSubject(block, decision.subject)]);
        out.drop = block.length;
      }
    }
    if (header.length) out.header = header;
    return out;
  }
}

/** The message's header block with its empty line, or null (none within MAX_HEADER). */
async function readHeaderBlock(msg: IncomingMessage): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let size = 0;
  const stream = msg.content();
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      parts.push(c);
      size += c.length;
      const all = Buffer.concat(parts);
      const end = all.indexOf("\r\n\r\n");
      if (end >= 0) return all.subarray(0, end + 4);
      if (size > MAX_HEADER) return null;
    }
  } finally {
    (stream as { destroy?: () => void }).destroy?.();
  }
  return null;
}

/** The step from the config, or undefined when spamFilter.enabled is false. */
export function createSpamFilter(config: Config & { hostname: string }, log: Logger): SpamFilter | undefined {
  const c = config.spamFilter;
  if (!c.enabled) return undefined;
  return new SpamFilter(new RspamdClient(c.url, c.timeout), { onError: c.onError, rejectScore: c.rejectScore, addHeaders: c.addHeaders }, config.hostname, log);
}
