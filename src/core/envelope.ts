import type { Address } from "./address.js";

/** RFC 3461 DSN parameters on MAIL FROM. */
export interface MailDsnParams {
  /** RET=FULL|HDRS */
  ret?: "FULL" | "HDRS";
  /** ENVID, decoded from xtext. */
  envid?: string;
}

/** RFC 3461 DSN parameters on RCPT TO. */
export interface RcptDsnParams {
  /** NOTIFY=NEVER or a subset of SUCCESS,FAILURE,DELAY. */
  notify?: ReadonlyArray<"NEVER" | "SUCCESS" | "FAILURE" | "DELAY">;
  /** ORCPT address type (e.g. "rfc822", "utf-8") and decoded address. */
  orcpt?: { type: string; address: string };
}

export type BodyType = "7BIT" | "8BITMIME";

export interface MailFrom {
  /** null for the null reverse-path "<>" (bounces). */
  readonly address: Address | null;
  readonly body?: BodyType;
  readonly smtputf8: boolean;
  readonly requireTls: boolean;
  /** SIZE= as declared by the client, if any. */
  readonly declaredSize?: number;
  readonly dsn: MailDsnParams;
  /** AUTH= parameter of RFC 4954 5, kept as given ("<>" when unknown). */
  readonly auth?: string;
}

export interface RcptTo {
  readonly address: Address;
  readonly dsn: RcptDsnParams;
}

/** Facts about the SMTP session that accepted a message, stored with it. */
export interface SessionFacts {
  readonly sessionId: string;
  readonly listener: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly helo: string;
  readonly protocol: string; // SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA (RFC 3848)
  readonly tls?: { version: string; cipher: string };
  readonly authUser?: string;
}
