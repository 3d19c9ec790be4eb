/**
 * BODY and BODYSTRUCTURE of FETCH (RFC 9051 7.5.2 and its grammar in 9, RFC 3501 7.4.2):
 *
 *   body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
 *   body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
 *   body-type-text  = media-text SP body-fields SP body-fld-lines
 *   body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
 *   body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
 *   body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
 *   body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc]]]
 *
 * Type, subtype, parameter names and disposition types are written in upper case (as the RFC's
 * examples); parameter values, ids and descriptions as written. BODYSTRUCTURE always carries
 * every extension field (NIL when absent), as Dovecot does.
 */
import type { MimePart, ParsedMessage } from "../../mime/index.js";
import { Run, type ImapValue } from "../proto/value.js";
import { envelopeValue } from "./envelope.js";

/** body-fld-param: ("NAME" "value" ...) or NIL. */
function paramsValue(params: Record<string, string>): ImapValue {
  const out: ImapValue[] = [];
  for (const [k, v] of Object.entries(params)) out.push(k.toUpperCase(), v);
  return out.length === 0 ? null : out;
}

/** body-fld-dsp: ("ATTACHMENT" ("FILENAME" "x")) or NIL. */
function dispositionValue(d: MimePart["disposition"]): ImapValue {
  return d === null ? null : [d.type.toUpperCase(), paramsValue(d.params)];
}

/** body-fld-lang: NIL, one string, or a list of them. */
function languageValue(l: string[] | null): ImapValue {
  if (l === null || l.length === 0) return null;
  return l.length === 1 ? l[0]! : [...l];
}

const isMessage = (p: MimePart) =>
  p.type === "message" && (p.subtype === "rfc822" || p.subtype === "global") && p.children.length === 1 && p.envelope !== undefined;

/**
 * What Dovecot writes for a multipart without parts (no boundary, no delimiter found): one empty
 * text/plain, since body-type-mpart needs at least one body.
 */
function emptyTextPart(extended: boolean): ImapValue {
  const v: ImapValue[] = ["TEXT", "PLAIN", ["CHARSET", "us-ascii"], null, null, "7BIT", 0, 0];
  if (extended) v.push(null, null, null, null);
  return v;
}

function partValue(p: MimePart, extended: boolean): ImapValue {
  if (p.type === "multipart") {
    // "1*body SP media-subtype": the bodies with no space between them.
    const v: ImapValue[] = [new Run(p.children.length === 0 ? [emptyTextPart(extended)] : p.children.map((c) => partValue(c, extended)))];
    v.push(p.subtype.toUpperCase());
    if (extended) v.push(paramsValue(p.params), dispositionValue(p.disposition), languageValue(p.language), p.location);
    return v;
  }
  // RFC 2045 5.2: a text part without a charset is US-ASCII; Dovecot writes it out.
  const params = p.type === "text" && !Object.hasOwn(p.params, "charset") ? { ...p.params, charset: "us-ascii" } : p.params;
  const v: ImapValue[] = [p.type.toUpperCase(), p.subtype.toUpperCase(), paramsValue(params), p.id, p.description, p.encoding, p.size];
  if (isMessage(p)) v.push(envelopeValue(p.envelope!), partValue(p.children[0]!, extended), p.lines);
  else if (p.type === "text") v.push(p.lines);
  if (extended) v.push(p.md5, dispositionValue(p.disposition), languageValue(p.language), p.location);
  return v;
}

/** BODYSTRUCTURE (extended = true) or BODY (extended = false) of a message. */
export function bodyStructureValue(parsed: ParsedMessage, extended: boolean): ImapValue {
  return partValue(parsed.root, extended);
}
