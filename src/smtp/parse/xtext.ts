const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * RFC 3461 4: xtext, used by ENVID and ORCPT. "+" followed by two upper-case hex digits.
 * "+HH" stands for an octet; the octets are read as UTF-8 (what encodeXtext writes, and what
 * clients such as nodemailer send for non-ASCII values). Octets that are not UTF-8 are refused.
 */
export function decodeXtext(s: string): string | null {
  const octets: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      octets.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x21 || c > 0x7e || c === 0x3d) {
      return null;
    } else {
      octets.push(c);
    }
  }
  try {
    return UTF8.decode(Uint8Array.from(octets));
  } catch {
    return null;
  }
}

export function encodeXtext(s: string): string {
  let out = "";
  for (const ch of Buffer.from(s, "utf8")) {
    if (ch < 0x21 || ch > 0x7e || ch === 0x2b || ch === 0x3d) out += "+" + ch.toString(16).toUpperCase().padStart(2, "0");
    else out += String.fromCharCode(ch);
  }
  return out;
}

/**
 * RFC 6533 3: utf-8-addr-xtext / utf-8-addr-unitext for ORCPT=utf-8;... values:
 * "\x{HEX}" escapes (e.g. "\x{2B}" for "+"), and xtext's "+HH" is still understood for
 * compatibility. Decoded in one pass, so that what an escape produced is never decoded again.
 */
export function decodeUtf8AddrXtext(s: string): string | null {
  // QUCHAR: printable ASCII except SP, "\\", "+", "=", or any non-ASCII character.
  const token = /\\x\{([0-9A-Fa-f]{1,6})\}|((?:\+[0-9A-F]{2})+)|([^\\+=\x00-\x20\x7f])/uy;
  let out = "";
  for (let i = 0; i < s.length; i = token.lastIndex) {
    token.lastIndex = i;
    const m = token.exec(s);
    if (!m) return null;
    if (m[3] !== undefined) {
      out += m[3];
      continue;
    }
    if (m[2] !== undefined) {
      // A run of "+HH" octets, read as UTF-8 as decodeXtext does.
      const text = decodeXtext(m[2]);
      if (text === null || /[\x00-\x1f\x7f]/.test(text)) return null;
      out += text;
      continue;
    }
    const cp = parseInt(m[1]!, 16);
    // No control characters, no surrogates, nothing past U+10FFFF.
    if (cp < 0x20 || cp === 0x7f || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return null;
    out += String.fromCodePoint(cp);
  }
  return out;
}
