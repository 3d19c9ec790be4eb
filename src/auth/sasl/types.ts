/**
 * SASL (RFC 4422) server mechanisms as protocol-neutral state machines: each step takes the
 * client's decoded response (null when the client sent no initial response) and returns the
 * next challenge or the outcome. SMTP (RFC 4954), IMAP (RFC 9051 6.2.2) and POP3 (RFC 5034)
 * move the bytes; the mechanisms never see a socket.
 */

export type SaslStep = { challenge: Buffer } | { user: string } | { failed: true };

export interface SaslMechanism {
  readonly name: string;
  step(response: Buffer | null): Promise<SaslStep>;
}

/** SCRAM-SHA-256 keys of one account (RFC 5802 3): what is stored instead of the password. */
export interface ScramCredentials {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** A SCRAM login in progress: keys to check the proof with, and where its outcome goes. */
export interface ScramLookup {
  /** Real keys, or fake ones (unknown user, no SCRAM keys, blocked) that no proof matches. */
  credentials: ScramCredentials;
  /** Report whether the proof matched; the account address when the login succeeds. */
  finish(proofValid: boolean): Promise<string | null>;
}

/** What the mechanisms need from the Authenticator, for one client (IP and protocol bound). */
export interface SaslBackend {
  /** A user name and password: the account's address on success, null otherwise. */
  password(user: string, password: string): Promise<string | null>;
  scram(user: string): Promise<ScramLookup>;
}
