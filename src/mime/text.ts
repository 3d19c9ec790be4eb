/**
 * A text part's content as a JS string: transfer decoding (RFC 2045 6: base64 through Buffer,
 * quoted-printable through libqp), then the charset (through libmime, which uses iconv-lite and
 * encoding-japanese).
 */
import { isUtf8 } from "node:buffer";
import libqp from "libqp";
import charset from "libmime/lib/charset.js";

/** Undoes the Content-Transfer-Encoding; unknown encodings (and 7bit/8bit/binary) pass through. */
export function transferDecode(body: Buffer, encoding: string): Buffer {
  try {
    switch (encoding) {
      case "BASE64":
        // Buffer's decoder skips white space and characters outside the alphabet.
        return Buffer.from(body.toString("latin1"), "base64");
      case "QUOTED-PRINTABLE":
        return libqp.decode(body);
      default:
        return body;
    }
  } catch {
    return body;
  }
}

const ASCII = new Set(["", "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us"]);

/**
 * Octets in the declared charset as a string. No charset, or US-ASCII with 8-bit octets: UTF-8
 * when the octets are valid UTF-8, latin1 otherwise. Unknown charsets decode as UTF-8.
 */
export function charsetDecode(bytes: Buffer, declared: string | undefined): string {
  const name = (declared ?? "").trim().toLowerCase();
  if (ASCII.has(name)) return isUtf8(bytes) ? bytes.toString("utf8") : bytes.toString("latin1");
  if (name === "utf-8" || name === "utf8") return bytes.toString("utf8");
  try {
    return charset.decode(bytes, name);
  } catch {
    return bytes.toString("utf8");
  }
}
