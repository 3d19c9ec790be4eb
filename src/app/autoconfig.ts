/**
 * Mail client autoconfiguration documents, built from the hostname and the ports of the open
 * listeners: Thunderbird's autoconfig (config-v1.1.xml, https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat)
 * and Outlook's POX autodiscover (responseschema 2006a). Implicit TLS comes first (RFC 8314),
 * STARTTLS listeners are offered after it. The username is always the full email address.
 * Nothing here looks at accounts: the answer depends on the domain alone, so it does not
 * tell who exists. Apple devices get a configuration profile (appleMobileconfig).
 */
import { createHash } from "node:crypto";

export interface MailPorts {
  imaps?: number;
  imap?: number;
  pop3s?: number;
  pop3?: number;
  submissions?: number;
  submission?: number;
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** The domain of an address (lower case), or null when it is not one plausible address. */
export function domainOfAddress(address: string): string | null {
  const a = address.trim();
  if (a.length > 320 || /[\s<>"\\\x00-\x1f]/.test(a)) return null;
  const at = a.lastIndexOf("@");
  if (at <= 0 || at === a.length - 1) return null;
  const d = a.slice(at + 1).toLowerCase().replace(/\.$/, "");
  return /^[a-z0-9\u0080-\uffff]([a-z0-9\u0080-\uffff-]*[a-z0-9\u0080-\uffff])?(\.[a-z0-9\u0080-\uffff]([a-z0-9\u0080-\uffff-]*[a-z0-9\u0080-\uffff])?)*$/.test(d) ? d : null;
}

export function thunderbirdConfig(domain: string, hostname: string, ports: MailPorts): string {
  const h = xmlEscape(hostname);
  const server = (tag: "incomingServer" | "outgoingServer", type: string, port: number, socket: "SSL" | "STARTTLS") =>
    [
      `    <${tag} type="${type}">`,
      `      <hostname>${h}</hostname>`,
      `      <port>${port}</port>`,
      `      <socketType>${socket}</socketType>`,
      `      <authentication>password-cleartext</authentication>`,
      `      <username>%EMAILADDRESS%</username>`,
      `    </${tag}>`,
    ].join("\n");
  const parts: string[] = [];
  if (ports.imaps) parts.push(server("incomingServer", "imap", ports.imaps, "SSL"));
  if (ports.imap) parts.push(server("incomingServer", "imap", ports.imap, "STARTTLS"));
  if (ports.pop3s) parts.push(server("incomingServer", "pop3", ports.pop3s, "SSL"));
  if (ports.pop3) parts.push(server("incomingServer", "pop3", ports.pop3, "STARTTLS"));
  if (ports.submissions) parts.push(server("outgoingServer", "smtp", ports.submissions, "SSL"));
  if (ports.submission) parts.push(server("outgoingServer", "smtp", ports.submission, "STARTTLS"));
  const d = xmlEscape(domain);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<clientConfig version="1.1">`,
    `  <emailProvider id="${d}">`,
    `    <domain>${d}</domain>`,
    `    <displayName>${d}</displayName>`,
    `    <displayShortName>${d}</displayShortName>`,
    ...parts,
    `  </emailProvider>`,
    `</clientConfig>`,
    ``,
  ].join("\n");
}

/** The EMailAddress of an Outlook autodiscover request (POX, requestschema 2006). */
export function autodiscoverAddress(body: string): string | null {
  const m = /<(?:\w+:)?EMailAddress\s*>([^<]{1,320})<\/(?:\w+:)?EMailAddress\s*>/i.exec(body);
  if (!m) return null;
  return m[1]!.trim().replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'");
}

export function autodiscoverResponse(address: string, hostname: string, ports: MailPorts): string {
  const h = xmlEscape(hostname);
  const login = xmlEscape(address);
  const protocol = (type: string, port: number, implicitTls: boolean, extra: string[] = []) =>
    [
      `      <Protocol>`,
      `        <Type>${type}</Type>`,
      `        <Server>${h}</Server>`,
      `        <Port>${port}</Port>`,
      `        <DomainRequired>off</DomainRequired>`,
      `        <LoginName>${login}</LoginName>`,
      `        <SPA>off</SPA>`,
      implicitTls ? `        <SSL>on</SSL>` : `        <Encryption>TLS</Encryption>`,
      `        <AuthRequired>on</AuthRequired>`,
      ...extra,
      `      </Protocol>`,
    ].join("\n");
  const parts: string[] = [];
  if (ports.imaps) parts.push(protocol("IMAP", ports.imaps, true));
  else if (ports.imap) parts.push(protocol("IMAP", ports.imap, false));
  if (ports.pop3s) parts.push(protocol("POP3", ports.pop3s, true));
  else if (ports.pop3) parts.push(protocol("POP3", ports.pop3, false));
  const smtpExtra = [`        <UsePOPAuth>off</UsePOPAuth>`, `        <SMTPLast>off</SMTPLast>`];
  if (ports.submissions) parts.push(protocol("SMTP", ports.submissions, true, smtpExtra));
  else if (ports.submission) parts.push(protocol("SMTP", ports.submission, false, smtpExtra));
  return [
    `<?xml version="1.0" encoding="utf-8"?>`,
    `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">`,
    `  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">`,
    `    <Account>`,
    `      <AccountType>email</AccountType>`,
    `      <Action>settings</Action>`,
    ...parts,
    `    </Account>`,
    `  </Response>`,
    `</Autodiscover>`,
    ``,
  ].join("\n");
}

/** A UUID made from a name, so that downloading the profile again replaces the same one. */
function nameUuid(name: string): string {
  const h = createHash("sha256").update(name).digest("hex");
  // RFC 9562 layout, version 8 (custom), variant 10.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

/**
 * An Apple configuration profile (unsigned .mobileconfig) with one mail account: IMAP (or
 * POP3 when there is no IMAP listener) and SMTP submission, implicit TLS preferred.
 */
export function appleMobileconfig(address: string, domain: string, hostname: string, ports: MailPorts): string | null {
  const imap = ports.imaps ? { port: ports.imaps, ssl: true } : ports.imap ? { port: ports.imap, ssl: false } : null;
  const pop = ports.pop3s ? { port: ports.pop3s, ssl: true } : ports.pop3 ? { port: ports.pop3, ssl: false } : null;
  const incoming = imap ?? pop;
  const smtp = ports.submissions ? { port: ports.submissions, ssl: true } : ports.submission ? { port: ports.submission, ssl: false } : null;
  if (!incoming || !smtp) return null;
  const str = (k: string, v: string) => `      <key>${k}</key>\n      <string>${xmlEscape(v)}</string>`;
  const int = (k: string, v: number) => `      <key>${k}</key>\n      <integer>${v}</integer>`;
  const bool = (k: string, v: boolean) => `      <key>${k}</key>\n      <${v}/>`;
  const reverse = domain.split(".").reverse().join(".");
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`,
    `<plist version="1.0">`,
    `<dict>`,
    `  <key>PayloadContent</key>`,
    `  <array>`,
    `    <dict>`,
    str("EmailAccountDescription", address),
    str("EmailAccountName", address),
    str("EmailAccountType", imap ? "EmailTypeIMAP" : "EmailTypePOP"),
    str("EmailAddress", address),
    str("IncomingMailServerAuthentication", "EmailAuthPassword"),
    str("IncomingMailServerHostName", hostname),
    int("IncomingMailServerPortNumber", incoming.port),
    bool("IncomingMailServerUseSSL", incoming.ssl),
    str("IncomingMailServerUsername", address),
    str("OutgoingMailServerAuthentication", "EmailAuthPassword"),
    str("OutgoingMailServerHostName", hostname),
    int("OutgoingMailServerPortNumber", smtp.port),
    bool("OutgoingMailServerUseSSL", smtp.ssl),
    str("OutgoingMailServerUsername", address),
    bool("OutgoingPasswordSameAsIncomingPassword", true),
    str("PayloadDisplayName", `Mail: ${address}`),
    str("PayloadIdentifier", `${reverse}.petrel.mail.${nameUuid(address)}`),
    str("PayloadType", "com.apple.mail.managed"),
    str("PayloadUUID", nameUuid(`mail ${address}`)),
    int("PayloadVersion", 1),
    `    </dict>`,
    `  </array>`,
    `  <key>PayloadDisplayName</key>`,
    `  <string>${xmlEscape(`Mail account ${address}`)}</string>`,
    `  <key>PayloadIdentifier</key>`,
    `  <string>${xmlEscape(`${reverse}.petrel.${nameUuid(address)}`)}</string>`,
    `  <key>PayloadRemovalDisallowed</key>`,
    `  <false/>`,
    `  <key>PayloadType</key>`,
    `  <string>Configuration</string>`,
    `  <key>PayloadUUID</key>`,
    `  <string>${nameUuid(`profile ${address}`)}</string>`,
    `  <key>PayloadVersion</key>`,
    `  <integer>1</integer>`,
    `</dict>`,
    `</plist>`,
    ``,
  ].join("\n");
}
