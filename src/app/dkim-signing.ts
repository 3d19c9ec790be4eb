/**
 * DKIM signing of submitted mail: a step between the engine (after the submission gate added
 * Date:/Message-ID:) and the queue. It sees every octet that goes into the queue, hashes the
 * body as it passes, and at end of data gives the DKIM-Signature fields that the queue
 * prepends before it commits (so the stored size and spool file include them, and 250 still
 * comes only after durable storage). Signed: messages of authenticated sessions whose From:
 * domain has an active key; one signature per algorithm (RSA, and Ed25519 when it has one).
 */
import type { Logger } from "../core/logger.js";
import type { SessionView } from "../smtp/handler.js";
import type { DkimKey, DkimKeyStore } from "../store/types.js";
import { DkimSignStream } from "../msgauth/dkim-sign.js";
import { headerSenders } from "../policy/sender.js";

export interface DkimSigningDeps {
  keys: DkimKeyStore;
  log: Logger;
  now(): number;
}

/** One message being signed. */
export interface MessageSigner {
  /** The octets written to the queue, in order. */
  update(parts: readonly Buffer[]): void;
  /** At end of data: the fields to prepend, or null (no From: domain with an active key). */
  finish(): Promise<Buffer | null>;
}

export class DkimSigning {
  constructor(private readonly deps: DkimSigningDeps) {}

  /** A signer for this session's message, or undefined when its mail is not signed. */
  open(s: SessionView): MessageSigner | undefined {
    if (s.authUser === undefined) return undefined;
    const stream = new DkimSignStream();
    return {
      update: (parts) => stream.update(parts),
      finish: async () => {
        const domain = fromDomain(stream.headerBlock());
        if (domain === null) return null;
        const keys = pickKeys(await this.deps.keys.active(domain));
        if (keys.length === 0) return null;
        const fields = stream.sign(keys, new Date(this.deps.now()));
        this.deps.log.debug({ event: "dkim-signed", session: s.id, domain, selectors: keys.map((k) => k.selector) }, "message signed");
        return fields;
      },
    };
  }
}

/** The domain of the first From: mailbox (the one the sender policy checked), lower-case. */
function fromDomain(header: Buffer | null): string | null {
  if (header === null) return null;
  const from = headerSenders(header).find((x) => x.field === "from")?.address;
  const at = from?.lastIndexOf("@") ?? -1;
  return from && at > 0 ? from.slice(at + 1).toLowerCase() : null;
}

/** The newest active key of each algorithm (the store lists newest first). */
function pickKeys(active: readonly DkimKey[]): DkimKey[] {
  return active.filter((k, i) => active.findIndex((x) => x.algorithm === k.algorithm) === i);
}
