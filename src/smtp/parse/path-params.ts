/**
 * MAIL FROM:<path> [params] and RCPT TO:<path> [params] (RFC 5321 4.1.1.2/4.1.1.3), with
 * the ESMTP parameters of SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), DSN
 * (RFC 3461), REQUIRETLS (RFC 8689) and AUTH (RFC 4954).
 */
import { AddressSyntaxError, parseMailbox, stripSourceRoute, type Address } from "../../core/address.js";
import type { MailFrom, RcptTo, RcptDsnParams } from "../../core/envelope.js";
import { decodeUtf8AddrXtext, decodeXtext } from "./xtext.js";

export class ParamError extends Error {
  constructor(
    /** Which reply to give: syntax of the path, an unknown/unsupported parameter, or a bad value. */
    readonly kind: "path" | "unknown-param" | "bad-param",
    message: string,
  ) {
    super(message);
  }
}

interface Split {
  path: string;
  params: Map<string, string | true>;
}

/** Split `FROM:<a@b> SIZE=10` after the keyword. Accepts no space after the colon, as RFC 5321 requires. */
function splitPathAndParams(arg: string, keyword: "FROM" | "TO"): Split {
  const prefix = keyword + ":";
  if (arg.slice(0, prefix.length).toUpperCase() !== prefix) throw new ParamError("path", `Syntax: ${keyword === "FROM" ? "MAIL FROM:<address>" : "RCPT TO:<address>"}`);
  let rest = arg.slice(prefix.length);
  // Tolerate "MAIL FROM: <a@b>" (a common client bug that every MTA accepts).
  rest = rest.replace(/^ +/, "");
  if (!rest.startsWith("<")) throw new ParamError("path", "Address must be enclosed in <>");
  // Find the closing ">" outside a quoted local part.
  let i = 1;
  let inQuote = false;
  for (; i < rest.length; i++) {
    const c = rest[i];
    if (inQuote && c === "\\") {
      i++;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    else if (c === ">" && !inQuote) break;
  }
  if (i >= rest.length) throw new ParamError("path", "Missing > after address");
  const path = rest.slice(1, i);
  const tail = rest.slice(i + 1);
  if (tail.length > 0 && !tail.startsWith(" ")) throw new ParamError("path", "Unexpected text after address");
  const params = new Map<string, string | true>();
  for (const p of tail.split(" ").filter((x) => x.length > 0)) {
    const eq = p.indexOf("=");
    const key = (eq < 0 ? p : p.slice(0, eq)).toUpperCase();
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(key)) throw new ParamError("bad-param", `Invalid parameter ${key}`);
    if (params.has(key)) throw new ParamError("bad-param", `Duplicate parameter ${key}`);
    params.set(key, eq < 0 ? true : p.slice(eq + 1));
  }
  return { path, params };
}

function parsePath(path: string, allowNull: boolean): Address | null {
  if (path === "") {
    if (allowNull) return null;
    throw new ParamError("path", "Null address not allowed here");
  }
  try {
    return parseMailbox(stripSourceRoute(path));
  } catch (e) {
    if (e instanceof AddressSyntaxError) throw new ParamError("path", `Bad address syntax: ${e.reason}`);
    throw e;
  }
}

export interface MailParamContext {
  /** Extensions this session advertised; others are unknown parameters (555). */
  readonly tls: boolean;
}

export function parseMailFrom(arg: string, ctx: MailParamContext): MailFrom {
  const { path, params } = splitPathAndParams(arg, "FROM");
  const address = parsePath(path, true);
  let body: MailFrom["body"];
  let smtputf8 = false;
  let requireTls = false;
  let declaredSize: number | undefined;
  let auth: string | undefined;
  const dsn: MailFrom["dsn"] = {};
  for (const [key, value] of params) {
    switch (key) {
      case "SIZE":
        if (value === true || !/^\d{1,20}$/.test(value)) throw new ParamError("bad-param", "SIZE needs a number");
        declaredSize = Number(value);
        break;
      case "BODY": {
        const v = value === true ? "" : value.toUpperCase();
        if (v !== "7BIT" && v !== "8BITMIME") throw new ParamError(v === "BINARYMIME" ? "unknown-param" : "bad-param", `Unsupported BODY=${v}`);
        body = v;
        break;
      }
      case "SMTPUTF8":
        if (value !== true) throw new ParamError("bad-param", "SMTPUTF8 takes no value");
        smtputf8 = true;
        break;
      case "REQUIRETLS":
        // RFC 8689 4.1: only offered, and so only accepted, inside TLS.
        if (!ctx.tls) throw new ParamError("unknown-param", "REQUIRETLS is only available over TLS");
        if (value !== true) throw new ParamError("bad-param", "REQUIRETLS takes no value");
        requireTls = true;
        break;
      case "RET": {
        const v = value === true ? "" : value.toUpperCase();
        if (v !== "FULL" && v !== "HDRS") throw new ParamError("bad-param", "RET must be FULL or HDRS");
        dsn.ret = v;
        break;
      }
      case "ENVID": {
        const v = value === true ? null : decodeXtext(value);
        // RFC 3461 4.4: at most 100 characters, printable once decoded ("+0D+0A" would be a
        // header injection when the ENVID is copied into a DSN).
        if (v === null || value === true || value.length > 100 || /[\x00-\x1f\x7f]/.test(v)) throw new ParamError("bad-param", "Invalid ENVID");
        dsn.envid = v;
        break;
      }
      case "AUTH":
        // RFC 4954 5: kept as given; trusted only for authenticated relays (not used yet).
        if (value === true) throw new ParamError("bad-param", "AUTH needs a value");
        auth = value;
        break;
      default:
        throw new ParamError("unknown-param", `Unsupported parameter ${key}`);
    }
  }
  return { address, body, smtputf8, requireTls, declaredSize, dsn, auth };
}

const NOTIFY_VALUES = new Set(["NEVER", "SUCCESS", "FAILURE", "DELAY"]);

export function parseRcptTo(arg: string): RcptTo {
  const { path, params } = splitPathAndParams(arg, "TO");
  // RFC 5321 4.1.1.3: "<Postmaster>" without a domain must be accepted.
  const address = /^postmaster$/i.test(path) ? { local: "postmaster", domain: "", quoted: false, utf8: false } : parsePath(path, false)!;
  const dsn: RcptDsnParams = {};
  for (const [key, value] of params) {
    switch (key) {
      case "NOTIFY": {
        if (value === true) throw new ParamError("bad-param", "NOTIFY needs a value");
        const items = value.toUpperCase().split(",");
        if (!items.every((x) => NOTIFY_VALUES.has(x)) || new Set(items).size !== items.length) throw new ParamError("bad-param", "Invalid NOTIFY value");
        // RFC 3461 4.1: NEVER must appear alone.
        if (items.includes("NEVER") && items.length > 1) throw new ParamError("bad-param", "NOTIFY=NEVER must be alone");
        dsn.notify = items as NonNullable<RcptDsnParams["notify"]>;
        break;
      }
      case "ORCPT": {
        if (value === true) throw new ParamError("bad-param", "ORCPT needs a value");
        const semi = value.indexOf(";");
        if (semi <= 0) throw new ParamError("bad-param", "ORCPT must be addr-type;address");
        const type = value.slice(0, semi).toLowerCase();
        const raw = value.slice(semi + 1);
        const decoded = type === "utf-8" ? decodeUtf8AddrXtext(raw) : decodeXtext(raw);
        // RFC 3461 4.2: at most 500 characters.
        if (!/^[a-z0-9-]+$/.test(type) || decoded === null || value.length > 500 || decoded.length === 0 || /[\x00-\x1f\x7f]/.test(decoded)) throw new ParamError("bad-param", "Invalid ORCPT");
        dsn.orcpt = { type, address: decoded };
        break;
      }
      default:
        throw new ParamError("unknown-param", `Unsupported parameter ${key}`);
    }
  }
  return { address, dsn };
}
