/**
 * What an authenticated session adds to plain SMTP intake: the sender policy
 * (MAIL FROM at MAIL, From:/Sender: at end of data), the sending limits (checked at RCPT,
 * charged once the message is accepted), and the Date: and Message-ID: an MSA adds to a
 * message that lacks them (RFC 6409 8.2, 8.3).
 */
import type { Logger } from "../core/logger.js";
import type { Reply } from "../core/reply.js";
import { rfc5322Date } from "../core/date.js";
import { fieldName, forEachField } from "../mime/header.js";
import { R } from "../smtp/replies.js";
import type { SessionView } from "../smtp/handler.js";
import { envelopeSenderVerdict, headerSenderVerdict, type SenderIdentity } from "../policy/sender.js";
import { buckets, effectiveLimits, hasLimits, recipientVerdict } from "../policy/send-limits.js";
import type { Account, Directory, SendCounterStore, SendLimits } from "../store/types.js";

export interface SubmissionDeps {
  directory: Directory;
  sendCounters: SendCounterStore;
  /** Configured defaults (submission.limits). */
  limits: SendLimits;
  /** Subaddress separator ("" = off). */
  separator: string;
  hostname: string;
  log: Logger;
  now(): number;
}

/** Listeners where RFC 6409 message fixes apply. */
const SUBMISSION_LISTENERS = new Set(["submission", "submissions"]);

/** A header block longer than this (without its blank line) is refused on submission. */
export const MAX_SUBMITTED_HEADER = 256 * 1024;

const HOUR_MS = 3_600_000;

export class Submission {
  private prunedFor = "";

  constructor(private readonly deps: SubmissionDeps) {}

  /** The account behind an authenticated session (null: not authenticated, or gone). */
  async account(s: SessionView): Promise<Account | null> {
    if (s.authUser === undefined) return null;
    return this.deps.directory.getAccount(s.authUser);
  }

  private identity(a: Account): SenderIdentity {
    return { accountId: a.id, address: a.address, sendAs: a.sendAs };
  }

  /** MAIL FROM of an authenticated session. */
  async mail(s: SessionView, sender: string | null): Promise<Reply | undefined> {
    const a = await this.account(s);
    if (!a) return s.authUser === undefined ? undefined : R.senderNotOwned(sender ?? "");
    return envelopeSenderVerdict(sender, this.identity(a), this.deps.directory, { separator: this.deps.separator });
  }

  /** RCPT of an authenticated session: would one more recipient go over a limit? */
  async rcpt(s: SessionView, accepted: number): Promise<Reply | undefined> {
    const a = await this.account(s);
    if (!a) return undefined;
    const limits = effectiveLimits(this.deps.limits, a.sendLimits);
    if (!hasLimits(limits)) return undefined;
    const now = this.deps.now();
    const b = buckets(now);
    const counts = await this.deps.sendCounters.get(a.id, [b.hour, b.day]);
    return recipientVerdict({ limits, hour: counts[b.hour]!, day: counts[b.day]! }, accepted, now);
  }

  /**
   * Per message: a gate between the engine and the queue, or undefined when the session is not
   * authenticated (MX intake passes straight through).
   */
  async open(s: SessionView, queueId: string, forward: (parts: readonly Buffer[]) => void | Promise<void>): Promise<MessageGate | undefined> {
    const account = await this.account(s);
    // Unauthenticated sessions on a submission port (smtp.submissionRequiresAuth off) can only
    // reach local mailboxes, like MX intake: their messages are stored as they came.
    const fix = account !== null && SUBMISSION_LISTENERS.has(s.listener);
    if (!account) return undefined;
    return new MessageGate(forward, {
      check: (header) => headerSenderVerdict(header, this.identity(account), this.deps.directory, { separator: this.deps.separator }),
      additions: fix ? (header) => missingFields(header, queueId, this.deps.hostname, this.deps.now()) : undefined,
      charge: (rcpts) => this.charge(account, rcpts),
    });
  }

  /** Count an accepted message; a failure here is logged, the message is already queued. */
  private async charge(a: Account, rcpts: number): Promise<void> {
    const now = this.deps.now();
    const b = buckets(now);
    try {
      await this.deps.sendCounters.charge(a.id, [b.hour, b.day], 1, rcpts);
      if (this.prunedFor !== b.hour) {
        this.prunedFor = b.hour;
        // Keep the previous hour and day too: nodes whose clocks differ a little still count right.
        const prev = buckets(now - HOUR_MS);
        const yesterday = buckets(now - 24 * HOUR_MS);
        const removed = await this.deps.sendCounters.prune([...new Set([b.hour, b.day, prev.hour, prev.day, yesterday.day])]);
        if (removed) this.deps.log.debug({ event: "send-counters-pruned", removed }, "old sending counters removed");
      }
    } catch (err) {
      this.deps.log.error({ err, account: a.address }, "cannot update sending counters");
    }
  }
}

/** RFC 6409 8.2 / 8.3: the Date: and Message-ID: fields a submitted message lacks. */
export function missingFields(header: Buffer, queueId: string, hostname: string, now: number): Buffer | null {
  let date = false;
  let id = false;
  forEachField(header, 0, header.length, (f) => {
    const name = fieldName(header, f).toLowerCase();
    if (name === "date") date = true;
    else if (name === "message-id") id = true;
  });
  let add = "";
  if (!date) add += `Date: ${rfc5322Date(new Date(now))}\r\n`;
  if (!id) add += `Message-ID: <${queueId}@${hostname}>\r\n`;
  return add ? Buffer.from(add, "latin1") : null;
}

interface GateHooks {
  /** End-of-data policy over the message's header block. */
  check?(header: Buffer): Promise<Reply | undefined>;
  /** Fields to add at the top of the message's header (after our Received:). */
  additions?(header: Buffer): Buffer | null;
  /** The message was accepted with this many recipients. */
  charge?(rcpts: number): Promise<void>;
}

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

/**
 * Holds the start of a message until its header block is complete, so that the end-of-data
 * check can read it and new fields can go in before it. The engine's first write is its
 * Received: header (smtp/session/commands/open-message.ts); added fields follow it, so that the
 * trace fields stay together at the top (RFC 5322 3.6.7). The body streams through untouched.
 */
export class MessageGate {
  private trace: Buffer | null = null;
  private held: Buffer[] = [];
  private heldSize = 0;
  private header: Buffer | null = null;
  private tooLarge = false;

  constructor(
    private readonly forward: (parts: readonly Buffer[]) => void | Promise<void>,
    private readonly hooks: GateHooks,
  ) {}

  async write(parts: readonly Buffer[]): Promise<void> {
    if (this.header) return this.forward(parts);
    if (this.trace === null) {
      this.trace = Buffer.concat(parts);
      return;
    }
    for (const p of parts) {
      this.held.push(p);
      this.heldSize += p.length;
    }
    const content = Buffer.concat(this.held, this.heldSize);
    this.held = [content];
    // The header ends at the first empty line; a message may also start with one (no header).
    const end = content.length >= 2 && content[0] === 13 && content[1] === 10 ? 0 : content.indexOf(CRLFCRLF);
    if (end >= 0) return this.release(content, end === 0 ? 0 : end + 2);
    if (this.heldSize > MAX_SUBMITTED_HEADER) {
      this.tooLarge = true;
      return this.release(content, content.length);
    }
  }

  /** Forward what is held, with the added fields, and keep the header block for the check. */
  private async release(content: Buffer, headerEnd: number): Promise<void> {
    const header = content.subarray(0, headerEnd);
    this.header = header;
    this.held = [];
    const added = this.hooks.additions?.(header) ?? null;
    await this.forward([this.trace ?? Buffer.alloc(0), ...(added ? [added] : []), content]);
  }

  /** End of data: release a message that never had an empty line, then the header check. */
  async end(): Promise<Reply | undefined> {
    if (!this.header) {
      const content = Buffer.concat(this.held, this.heldSize);
      await this.release(content, content.length);
    }
    if (this.tooLarge) return R.headerTooLarge();
    return this.hooks.check?.(this.header!);
  }

  async accepted(rcpts: number): Promise<void> {
    await this.hooks.charge?.(rcpts);
  }
}
