/**
 * The Content-* header fields of a part (RFC 2045, RFC 2183, RFC 3282, RFC 2557, RFC 1864) as
 * BODYSTRUCTURE needs them. Parameter syntax, RFC 2231 continuations and charsets are libmime's.
 */
import libmime from "libmime";
import { fieldValue, type RawField } from "./header.js";
import { MIME_LIMITS } from "./limits.js";

export interface Content {
  type: string;
  subtype: string;
  params: Record<string, string>;
  /** The multipart boundary as octets, or null when absent or unusable. */
  boundary: Buffer | null;
  encoding: string;
  id: string | null;
  description: string | null;
  md5: string | null;
  disposition: { type: string; params: Record<string, string> } | null;
  language: string[] | null;
  location: string | null;
}

/** RFC 2045 5.1 token (lower-cased before the test). */
const TYPE = /^[!#$%&'*+\-.^_`{|}~0-9a-z]+\/[!#$%&'*+\-.^_`{|}~0-9a-z]+$/;

function parseValue(text: string): { value: string; params: Record<string, string> } {
  try {
    // RFC 2045 5.1: comments may appear in structured MIME fields; they are not the value.
    const r = libmime.parseHeaderValue(text, { stripComments: true });
    return { value: r.value.trim(), params: r.params };
  } catch {
    return { value: "", params: {} };
  }
}

/** The first field of each lower-case name that `find` is asked for. */
export type FieldLookup = (lowerName: string) => RawField | undefined;

export function readContent(raw: Buffer, field: FieldLookup, inDigest: boolean): Content {
  const text = (name: string): string | null => {
    const f = field(name);
    return f ? fieldValue(raw, f).text : null;
  };

  // RFC 2045 5.2 default, or RFC 2046 5.1.5 inside multipart/digest.
  let type = inDigest ? "message" : "text";
  let subtype = inDigest ? "rfc822" : "plain";
  let params: Record<string, string> = inDigest ? {} : { charset: "us-ascii" };
  let boundary: Buffer | null = null;
  const ct = field("content-type");
  if (ct) {
    const { text: value, utf8 } = fieldValue(raw, ct);
    const parsed = parseValue(value);
    params = parsed.params;
    const mime = parsed.value.toLowerCase();
    if (TYPE.test(mime)) {
      const slash = mime.indexOf("/");
      type = mime.slice(0, slash);
      subtype = mime.slice(slash + 1);
    } else {
      // RFC 2045 5.2: a syntactically invalid Content-Type means text/plain.
      type = "text";
      subtype = "plain";
    }
    const b = Object.hasOwn(params, "boundary") && typeof params["boundary"] === "string" ? params["boundary"] : "";
    if (type === "multipart" && b.length > 0 && !/[\r\n]/.test(b)) {
      const bytes = Buffer.from(b, utf8 ? "utf8" : "latin1");
      if (bytes.length <= MIME_LIMITS.maxBoundaryLength) boundary = bytes;
    }
  }

  const cte = text("content-transfer-encoding");
  const encoding = cte === null ? "" : parseValue(cte).value.toUpperCase();

  let disposition: Content["disposition"] = null;
  const cd = text("content-disposition");
  if (cd !== null) {
    const parsed = parseValue(cd);
    if (parsed.value !== "" || Object.keys(parsed.params).length > 0) disposition = { type: parsed.value.toLowerCase(), params: parsed.params };
  }

  let language: string[] | null = null;
  const cl = text("content-language");
  if (cl !== null) {
    // RFC 3282 2: 1#Language-tag, comments allowed.
    const tags = parseValue(cl.replace(/;/g, " ")).value.split(",").map((t) => t.trim()).filter((t) => t !== "");
    if (tags.length > 0) language = tags;
  }

  return {
    type,
    subtype,
    params,
    boundary,
    encoding: encoding === "" ? "7BIT" : encoding,
    id: text("content-id"),
    description: text("content-description"),
    md5: text("content-md5"),
    disposition,
    language,
    location: text("content-location"),
  };
}
