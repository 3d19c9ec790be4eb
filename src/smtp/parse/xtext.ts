/** RFC 3461 4: xtext, used by ENVID and ORCPT. "+" followed by two upper-case hex digits. */
export function decodeXtext(s: string): string | null {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x21 || c > 0x7e || c === 0x3d) {
      return null;
    } else {
      out += s[i];
    }
  }
  return out;
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
 * "\x{HEX}" escapes, and xtext's "+HH" is still understood for compatibility.
 */
export function decodeUtf8AddrXtext(s: string): string | null {
  const unescaped = s.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (_m, h: string) => String.fromCodePoint(parseInt(h, 16)));
  if (/[\x00-\x20\x7f]/.test(unescaped)) return null;
  return unescaped.includes("+") ? decodeXtext(unescaped) : unescaped;
}
