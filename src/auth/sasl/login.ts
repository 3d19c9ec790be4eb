/**
 * LOGIN (draft-murchison-sasl-login): the server asks "Username:" then "Password:". Obsolete
 * but still what many clients (Outlook, older phones) use. An initial response is the user name.
 */
import type { SaslBackend, SaslMechanism, SaslStep } from "./types.js";
import { utf8 } from "./plain.js";

const MAX_FIELD = 255;

export class LoginMechanism implements SaslMechanism {
  readonly name = "LOGIN";
  private user: string | undefined;
  private started = false;

  constructor(private readonly backend: SaslBackend) {}

  async step(response: Buffer | null): Promise<SaslStep> {
    if (!this.started) {
      this.started = true;
      if (response === null) return { challenge: Buffer.from("Username:") };
    }
    if (response === null || response.length > MAX_FIELD) return { failed: true };
    const text = utf8(response);
    if (text === null) return { failed: true };
    if (this.user === undefined) {
      if (text === "") return { failed: true };
      this.user = text;
      return { challenge: Buffer.from("Password:") };
    }
    const address = await this.backend.password(this.user, text);
    return address === null ? { failed: true } : { user: address };
  }
}
