/**
 * Modified UTF-7 mailbox names (RFC 3501 5.1.3): printable US-ASCII stands for itself except
 * "&", written "&-"; other characters go as UTF-16 in modified BASE64 ("," for "/", no padding)
 * between "&" and "-".
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

const isDirect = (c: number) => c >= 0x20 && c <= 0x7e;

/** The modified BASE64 of UTF-16 code units. */
function encodeUnits(units: number[]): string {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (const u of units) {
    acc = (acc << 16) | u;
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 63];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 63];
  return out;
}

export function encodeMutf7(name: string): string {
  let out = "";
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (isDirect(c)) {
      out += c === 0x26 ? "&-" : name[i];
      i++;
      continue;
    }
    const units: number[] = [];
    while (i < name.length && !isDirect(name.charCodeAt(i))) units.push(name.charCodeAt(i++));
    out += `&${encodeUnits(units)}-`;
  }
  return out;
}

/**
 * The name a modified UTF-7 string stands for, or null when it is not the canonical encoding of
 * anything: octets outside printable US-ASCII, an "&" shift without its "-", characters outside
 * the alphabet, left-over bits that are not zero or make a whole character, a shifted printable
 * character, a broken surrogate pair, or two shifts in a row (they must be one).
 */
export function decodeMutf7(name: string): string | null {
  let out = "";
  let i = 0;
  let lastShiftEnd = -1;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (!isDirect(c)) return null;
    if (c !== 0x26) {
      out += name[i];
      i++;
      continue;
    }
    const end = name.indexOf("-", i + 1);
    if (end < 0) return null;
    if (end === i + 1) {
      out += "&";
      i = end + 1;
      continue;
    }
    if (lastShiftEnd === i) return null; // "&AGE-&AGE-" is written "&AGEAYQ-"
    let acc = 0;
    let bits = 0;
    const units: number[] = [];
    for (let k = i + 1; k < end; k++) {
      const ch = name.charCodeAt(k);
      const v = ch < 128 ? VALUE[ch]! : -1;
      if (v < 0) return null;
      acc = ((acc << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 16) {
        bits -= 16;
        units.push((acc >> bits) & 0xffff);
        acc &= (1 << bits) - 1;
      }
    }
    // RFC 3501 5.1.3 (after RFC 2152): fewer than 6 padding bits, all zero.
    if (bits >= 6 || acc !== 0 || units.length === 0) return null;
    for (let k = 0; k < units.length; k++) {
      const u = units[k]!;
      if (isDirect(u)) return null;
      if (u >= 0xd800 && u <= 0xdbff) {
        const lo = units[k + 1];
        if (lo === undefined || lo < 0xdc00 || lo > 0xdfff) return null;
        out += String.fromCharCode(u, lo);
        k++;
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return null;
      } else {
        out += String.fromCharCode(u);
      }
    }
    i = end + 1;
    lastShiftEnd = i;
  }
  return out;
}
