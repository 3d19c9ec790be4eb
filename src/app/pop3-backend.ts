/**
 * Pop3Backend over the store: logins through the Authenticator (shared lockout), the maildrop is the
 * account's INBOX in the Mailstore, RETR serves prefix + blob (the octets LIST counts).
 */
import type { MailMessage, Mailstore } from "../store/types.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { Pop3Account, Pop3Backend, Maildrop } from "../pop3/backend.js";

const INBOX = "INBOX";
const MAX_SNAPSHOTS = 1000;

export function createPop3Backend(authenticator: Pick<Authenticator, "password">, mailstore: Mailstore): Pop3Backend {
  /** The INBOX and its messages by UID as of the latest openMaildrop of each account. */
  const snapshots = new Map<number, { mailboxId: number; byUid: Map<number, MailMessage> }>();

  async function load(accountId: number) {
    const box = await mailstore.getMailbox(accountId, INBOX);
    if (!box) return null;
    const messages = await mailstore.listMessages(box.id);
    const snap = { mailboxId: box.id, uidValidity: box.uidValidity, messages, byUid: new Map(messages.map((m) => [m.uid, m])) };
    snapshots.delete(accountId);
    snapshots.set(accountId, snap);
    // Bounded: the oldest snapshots go first (a miss only costs a reload).
    if (snapshots.size > MAX_SNAPSHOTS) snapshots.delete(snapshots.keys().next().value!);
    return snap;
  }

  return {
    async authenticate(user: string, pass: string, remoteIp: string): Promise<Pop3Account | null> {
      // Failures count toward the lockout shared with SMTP AUTH and IMAP.
      const account = await authenticator.password({ user, password: pass, remoteIp, protocol: "pop3" });
      return account ? { accountId: account.id, address: account.address } : null;
    },

    async openMaildrop(accountId: number): Promise<Maildrop> {
      const snap = await load(accountId);
      if (!snap) return { messages: [], uidValidity: 0 };
      return { messages: snap.messages.map((m) => ({ uid: m.uid, size: m.size })), uidValidity: snap.uidValidity };
    },

    async retrieve(accountId: number, uid: number): Promise<Buffer | null> {
      let m = snapshots.get(accountId)?.byUid.get(uid);
      if (!m) m = (await load(accountId))?.byUid.get(uid);
      if (!m) return null;
      const blob = await mailstore.blob(m.blobId);
      return blob ? Buffer.concat([m.prefix, blob]) : null;
    },

    async expunge(accountId: number, uids: readonly number[]): Promise<void> {
      const box = await mailstore.getMailbox(accountId, INBOX);
      if (!box) return;
      await mailstore.expunge(box.id, uids);
      const snap = snapshots.get(accountId);
      if (snap) for (const uid of uids) snap.byUid.delete(uid);
    },
  };
}
