/**
 * An end-of-data policy verdict that travels with a queued message in its envelope, for the
 * delivery stage: "quarantine" (DMARC p=quarantine, policy/inbound-auth.ts) sends local copies
 * to the recipient's Junk mailbox instead of INBOX.
 */
export interface QueueVerdict {
  action: "quarantine";
  /** Why, for logs and `petrel queue show`. */
  reason: string;
}

/** The verdict stored in a queue entry's envelope, if any. */
export function envelopeVerdict(envelope: unknown): QueueVerdict | null {
  const v = (envelope as { verdict?: QueueVerdict } | null)?.verdict;
  return v && v.action === "quarantine" ? v : null;
}
