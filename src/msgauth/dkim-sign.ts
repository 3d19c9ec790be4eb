/**
 * DKIM signing (RFC 6376) of a message as it streams by: the body hash is computed over the
 * body while it is received, so a 50 MiB message is never held in memory; only the header block
 * is kept (bounded). At the end, `sign` returns DKIM-Signature fields to prepend, one per key:
 * rsa-sha256 and ed25519-sha256 (RFC 8463), relaxed/relaxed, From oversigned.
 * The canonicalization and formatting are mailauth's (see mailauth-internals.d.ts).
 */
import { createHash, createPrivateKey, sign as cryptoSign } from "node:crypto";
import bodyModule from "mailauth/lib/dkim/body/index.js";
import headerModule from "mailauth/lib/dkim/header/index.js";
import tools from "mailauth/lib/tools.js";
import type { DkimKeyAlgorithm } from "./dkim-keys.js";

export interface DkimSigningKey {
  domain: string;
  selector: string;
  algorithm: DkimKeyAlgorithm;
  /** PKCS#8 PEM. */
  privateKey: string;
}

/**
 * Signed when present (each instance), in this order. RFC 6376 5.4.1 recommends these; fields
 * that relays commonly change (Received, Return-Path, DKIM-Signature) are left out.
 */
export const SIGNED_FIELDS = [
  "From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
  "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description",
  "Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
  "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
  "List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Autocrypt", "OpenPGP",
] as const;

/**
 * Named once more than they occur (RFC 6376 5.4.2, 8.15): a verifier then treats an added
 * instance as a change, so that nobody can add a second From: to a signed message.
 */
export const OVERSIGNED_FIELDS = ["From"] as const;

/** A header block larger than this is not signed (the submission gate refuses 256 KiB). */
export const MAX_SIGNED_HEADER = 1024 * 1024;

const CR = 13;
const LF = 10;

type ParsedField = { key: string | null; casedKey: string | undefined; line: Buffer };

/** Feed it the message's bytes (CRLF line endings, as received); then `sign`. */
export class DkimSignStream {
  private header: Buffer[] = [];
  private headerSize = 0;
  private inBody = false;
  /** Where the header scan is, so that CRLF CRLF is found across chunk boundaries. */
  private lineStart = true;
  private sawCr = false;
  private emptyLine = false;
  private readonly body = bodyModule.dkimBody("relaxed", "sha256", false);
  private tooLarge = false;

  update(parts: readonly Buffer[]): void {
    for (const p of parts) this.push(p);
  }

  private push(chunk: Buffer): void {
    if (this.inBody) {
      this.body.update(chunk);
      return;
    }
    // The header ends at the first empty line (CRLF at the start of a line).
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === CR) {
        this.emptyLine = this.lineStart;
        this.sawCr = true;
        this.lineStart = false;
      } else if (c === LF && this.sawCr) {
        if (this.emptyLine) {
          this.keepHeader(chunk.subarray(0, i + 1));
          this.inBody = true;
          if (i + 1 < chunk.length) this.body.update(chunk.subarray(i + 1));
          return;
        }
        this.lineStart = true;
        this.sawCr = false;
      } else {
        this.lineStart = false;
        this.sawCr = false;
        this.emptyLine = false;
      }
    }
    this.keepHeader(chunk);
  }

  private keepHeader(b: Buffer): void {
    if (this.tooLarge) return;
    this.headerSize += b.length;
    if (this.headerSize > MAX_SIGNED_HEADER) {
      this.tooLarge = true;
      this.header = [];
      return;
    }
    this.header.push(b);
  }

  /** The header block (with its empty line), or null when it was too large to keep. */
  headerBlock(): Buffer | null {
    return this.tooLarge ? null : Buffer.concat(this.header);
  }

  private fields(): ParsedField[] | null {
    const block = this.headerBlock();
    if (block === null || block.length === 0) return null;
    return tools.parseHeaders(block).parsed.filter((f) => f.key !== null && f.line.length > 0);
  }

  /**
   * DKIM-Signature fields for these keys (CRLF-terminated, RSA first), computed over the header
   * block and the body seen so far (call at the end). Throws when a key cannot sign.
   */
  sign(keys: readonly DkimSigningKey[], now: Date): Buffer {
    const fields = this.fields();
    if (fields === null) throw new Error("no header block to sign");
    const bodyHash = this.body.digest("base64");
    const lines = signingLines(fields);
    const ordered = [...keys].sort((a, b) => (a.algorithm === b.algorithm ? 0 : a.algorithm === "rsa" ? -1 : 1));
    const out: string[] = [];
    for (const k of ordered) {
      const algorithm = k.algorithm === "rsa" ? "rsa-sha256" : "ed25519-sha256";
      const { canonicalizedHeader, dkimHeaderOpts } = headerModule.generateCanonicalizedHeader("DKIM", lines, {
        signingDomain: k.domain,
        selector: k.selector,
        algorithm,
        canonicalization: "relaxed/relaxed",
        bodyHash,
        signTime: now,
      });
      const key = createPrivateKey(k.privateKey);
      // RFC 8463 3: Ed25519 signs the SHA-256 hash of the canonicalized header (PureEdDSA over it).
      const signature =
        k.algorithm === "rsa" ? cryptoSign("sha256", canonicalizedHeader, key) : cryptoSign(null, createHash("sha256").update(canonicalizedHeader).digest(), key);
      out.push(tools.formatSignatureHeaderLine("DKIM", { ...dkimHeaderOpts, b: signature.toString("base64") }, true) + "\r\n");
    }
    return Buffer.from(out.join(""), "latin1");
  }
}

/**
 * The h= list and the fields it covers (RFC 6376 5.4.2: several instances are signed bottom-up),
 * plus one more name for each oversigned field.
 */
function signingLines(fields: ParsedField[]): { keys: string; headers: { key: string; casedKey: string; line: Buffer }[] } {
  const names: string[] = [];
  const headers: { key: string; casedKey: string; line: Buffer }[] = [];
  for (const name of SIGNED_FIELDS) {
    const lower = name.toLowerCase();
    for (let i = fields.length - 1; i >= 0; i--) {
      const f = fields[i]!;
      if (f.key !== lower) continue;
      names.push(name);
      headers.push({ key: lower, casedKey: f.casedKey ?? name, line: f.line });
    }
    if ((OVERSIGNED_FIELDS as readonly string[]).includes(name)) names.push(name);
  }
  return { keys: names.join(":"), headers };
}
