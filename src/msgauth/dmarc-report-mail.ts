/**
 * The XML documents in a DMARC aggregate report message (RFC 7489 7.2.1.1): the report is
 * an attachment, gzip (application/gzip, .xml.gz), zip (application/zip, .zip) or plain XML;
 * some senders put it as the whole body. Bounded: at most MAX_XML octets of XML per document
 * (a zip or gzip bomb stops there) and a few documents per message.
 */
import { gunzipSync, inflateRawSync } from "node:zlib";
import { parseMessage, walkParts, type MimePart } from "../mime/index.js";
import { transferDecode } from "../mime/text.js";

export const MAX_XML = 32 * 1024 * 1024;
const MAX_DOCUMENTS = 10;

type Kind = "gzip" | "zip" | "xml";

function kindOf(p: MimePart): Kind | null {
  const type = `${p.type}/${p.subtype}`;
  const name = (p.disposition?.params.filename ?? p.params.name ?? "").toLowerCase();
  if (/gzip$/.test(type) || name.endsWith(".gz") || name.endsWith(".gzip")) return "gzip";
  if (/zip/.test(type) || name.endsWith(".zip")) return "zip";
  if (type === "text/xml" || type === "application/xml" || name.endsWith(".xml")) return "xml";
  return null;
}

/** The XML texts found in the message (empty when it carries no report). */
export function reportDocuments(raw: Buffer): string[] {
  const parsed = parseMessage(raw);
  const out: string[] = [];
  for (const part of walkParts(parsed.root)) {
    if (part.children.length > 0 || out.length >= MAX_DOCUMENTS) continue;
    const kind = kindOf(part);
    if (!kind) continue;
    const body = transferDecode(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
    for (const xml of decode(kind, body)) if (out.length < MAX_DOCUMENTS) out.push(xml);
  }
  return out;
}

function decode(kind: Kind, data: Buffer): string[] {
  if (kind === "xml") return [data.toString("utf8")];
  if (kind === "gzip") return [gunzipSync(data, { maxOutputLength: MAX_XML }).toString("utf8")];
  return unzip(data)
    .filter((e) => e.name.toLowerCase().endsWith(".xml"))
    .map((e) => e.data.toString("utf8"));
}

export interface ZipEntry {
  name: string;
  data: Buffer;
}

/**
 * A minimal zip reader (PKWARE APPNOTE 4.3): the central directory, then each entry's data,
 * stored (method 0) or deflated (method 8, raw deflate). No zip64, encryption or multi-disk.
 */
export function unzip(zip: Buffer): ZipEntry[] {
  // End of central directory record: 22 octets plus a comment of up to 65535.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("zip: no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let n = 0; n < count && n < 100; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== 0x02014b50) throw new Error("zip: bad central directory entry");
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const csize = zip.readUInt32LE(p + 20);
    const usize = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString(flags & 0x800 ? "utf8" : "latin1");
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith("/")) continue;
    if (flags & 1) throw new Error("zip: encrypted entries are not supported");
    if (usize > MAX_XML) throw new Error(`zip: ${name} is too large`);
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50) throw new Error("zip: bad local header");
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + csize);
    if (data.length !== csize) throw new Error("zip: truncated entry");
    if (method === 0) out.push({ name, data });
    else if (method === 8) out.push({ name, data: inflateRawSync(data, { maxOutputLength: MAX_XML }) });
    else throw new Error(`zip: compression method ${method} is not supported`);
  }
  return out;
}
