/**
 * PLAIN (RFC 4616): one message "[authzid] NUL authcid NUL passwd" in UTF-8. Acting as another
 * user is not supported: authzid must be empty or the authcid itself.
 */
import type { SaslBackend, SaslMechanism, SaslStep } from "./types.js";

/** RFC 4616 2: each field is at most 255 octets. */
const MAX_FIELD = 255;

export class PlainMechanism implements SaslMechanism {
  readonly name = "PLAIN";
  private asked = false;

  constructor(private readonly backend: SaslBackend) {}

  async step(response: Buffer | null): Promise<SaslStep> {
    // No initial response: an empty challenge asks for it (RFC 4422 5).
    if (response === null) {
      if (this.asked) return { failed: true };
      this.asked = true;
      return { challenge: Buffer.alloc(0) };
    }
    const fields = splitNul(response);
    if (!fields || fields.length !== 3) return { failed: true };
    const [authzid, authcid, passwd] = fields as [Buffer, Buffer, Buffer];
    if (authcid.length === 0 || authcid.length > MAX_FIELD || passwd.length > MAX_FIELD || authzid.length > MAX_FIELD) return { failed: true };
    const user = utf8(authcid);
    const password = utf8(passwd);
    const zid = utf8(authzid);
    if (user === null || password === null || zid === null) return { failed: true };
    // Checked after the password so that the reply takes the same time.
    const address = await this.backend.password(user, password);
    if (address === null) return { failed: true };
    if (zid !== "" && zid.toLowerCase() !== user.toLowerCase() && zid.toLowerCase() !== address.toLowerCase()) return { failed: true };
    return { user: address };
  }
}

function splitNul(b: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i === b.length || b[i] === 0) {
      out.push(b.subarray(start, i));
      start = i + 1;
      if (out.length > 3) return null;
    }
  }
  return out;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Strict UTF-8 (RFC 4616: UTF8SAFE), or null. */
export function utf8(b: Buffer): string | null {
  try {
    return decoder.decode(b);
  } catch {
    return null;
  }
}
