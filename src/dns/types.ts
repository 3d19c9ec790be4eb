/**
 * The DNS lookups the rest of Petrel needs (SPF, DKIM, DMARC, MX routing), as an interface that
 * tests can fake. Names are ASCII (A-labels); a trailing dot is optional.
 */
import { PetrelError } from "../core/errors.js";

export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

/**
 * Why a lookup gave no answer. NXDOMAIN (the name does not exist) and NODATA (the name exists,
 * with no record of this type) are answers (RFC 2308); TIMEOUT and SERVFAIL are temporary
 * failures that a caller must turn into a 4xx/temperror, never into "no record".
 */
export type DnsErrorCode = "NXDOMAIN" | "NODATA" | "TIMEOUT" | "SERVFAIL" | "REFUSED" | "FORMERR" | "BADNAME";

export class DnsError extends PetrelError {
  constructor(
    override readonly code: DnsErrorCode,
    readonly query: string,
    readonly rrtype: string,
    options?: { cause?: unknown },
  ) {
    super(code, `DNS ${rrtype} ${query}: ${code}`, options);
    this.name = "DnsError";
  }

  /** NXDOMAIN and NODATA are definite answers; everything else may succeed later. */
  get temporary(): boolean {
    return this.code !== "NXDOMAIN" && this.code !== "NODATA" && this.code !== "BADNAME";
  }
}

export interface Resolver {
  /** TXT records; each record is its list of character-strings (join them for SPF/DKIM). */
  txt(name: string): Promise<string[][]>;
  /** MX records in the order received (sort by priority yourself). */
  mx(name: string): Promise<MxRecord[]>;
  a(name: string): Promise<string[]>;
  aaaa(name: string): Promise<string[]>;
  /** PTR records of an IP address ("192.0.2.1", "2001:db8::1") or of a name (x.in-addr.arpa). */
  ptr(ipOrName: string): Promise<string[]>;
}
