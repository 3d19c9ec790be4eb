/**
 * The parts of mailauth 4.x's DKIM signer that Petrel composes itself (streaming body hash,
 * header canonicalization, signature formatting), so that the body is hashed as it arrives and
 * From can be oversigned. mailauth is pinned to 4.13.x: these are not its documented API.
 */
declare module "mailauth/lib/dkim/body/index.js" {
  interface BodyHasher {
    update(chunk: Buffer): void;
    digest(encoding: "base64"): string;
  }
  const body: { dkimBody(canonicalization: string, algorithm: string, maxBodyLength: number | false): BodyHasher };
  export default body;
}

declare module "mailauth/lib/dkim/header/index.js" {
  interface SigningHeaderLines {
    keys: string;
    headers: { key: string; casedKey: string; line: Buffer }[];
  }
  const header: {
    generateCanonicalizedHeader(
      type: "DKIM",
      lines: SigningHeaderLines,
      options: { signingDomain: string; selector: string; algorithm: string; canonicalization: string; bodyHash: string; signTime?: Date },
    ): { canonicalizedHeader: Buffer; dkimHeaderOpts: Record<string, string | number> };
  };
  export default header;
}

declare module "mailauth/lib/tools.js" {
  const tools: {
    parseHeaders(buf: Buffer): { parsed: { key: string | null; casedKey: string | undefined; line: Buffer }[] };
    formatSignatureHeaderLine(type: "DKIM", values: Record<string, string | number>, folded: boolean): string;
  };
  export default tools;
}
