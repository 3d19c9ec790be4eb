/**
 * The Received: trace header (RFC 5321 4.4, RFC 5322 3.6.7) with the protocol keyword of
 * RFC 3848 / RFC 6531 (ESMTPS, ESMTPSA, UTF8SMTPS, ...) and the TLS version and cipher.
 */
import { rfc5322Date } from "../core/date.js";
import { formatAddress } from "../core/address.js";
import type { RcptTo } from "../core/envelope.js";
import type { TlsInfo } from "./handler.js";

export interface ReceivedFacts {
  helo: string;
  esmtp: boolean;
  remoteAddress: string;
  hostname: string;
  queueId: string;
  tls?: TlsInfo;
  authenticated: boolean;
  smtputf8: boolean;
  rcpts: readonly RcptTo[];
  date: Date;
}

export function protocolKeyword(f: Pick<ReceivedFacts, "esmtp" | "tls" | "authenticated" | "smtputf8">): string {
  if (!f.esmtp) return "SMTP";
  const base = f.smtputf8 ? "UTF8SMTP" : "ESMTP";
  return base + (f.tls ? "S" : "") + (f.authenticated ? "A" : "");
}

function sanitize(s: string): string {
  // The HELO name is client-supplied: keep it to one printable line without parentheses games.
  return s.replace(/[^\x21-\x7e\u0080-\u{10FFFF}]/gu, "?").replace(/[()\\]/g, "?").slice(0, 255);
}

export function receivedHeader(f: ReceivedFacts): string {
  const ip = f.remoteAddress.includes(":") ? `IPv6:${f.remoteAddress}` : f.remoteAddress;
  let h = `Received: from ${sanitize(f.helo) || "unknown"} ([${ip}])\r\n\tby ${f.hostname} (Petrel) with ${protocolKeyword(f)} id ${f.queueId}`;
  if (f.tls) h += `\r\n\t(using ${f.tls.version} with cipher ${f.tls.cipher})`;
  // Name the recipient only when there is exactly one, so that Bcc recipients stay private.
  if (f.rcpts.length === 1 && f.rcpts[0]!.address.domain) h += `\r\n\tfor <${formatAddress(f.rcpts[0]!.address)}>`;
  h += `;\r\n\t${rfc5322Date(f.date)}\r\n`;
  return h;
}
