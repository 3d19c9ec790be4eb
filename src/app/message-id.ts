/**
 * Finds the Message-ID of a message as its first parts stream by, for `petrel trace` (which
 * looks messages up by it in the logs). Looks at the header only, and at most 64 KiB of it.
 */
const MAX_HEADER = 64 * 1024;

export class MessageIdSniffer {
  private head = "";
  private done = false;
  messageId?: string;

  update(parts: readonly Buffer[]): void {
    if (this.done) return;
    for (const p of parts) {
      this.head += p.subarray(0, MAX_HEADER - this.head.length).toString("latin1");
      if (this.head.length >= MAX_HEADER) break;
    }
    const end = this.head.search(/\r?\n\r?\n/);
    if (end >= 0 || this.head.length >= MAX_HEADER) this.finish(end >= 0 ? end : this.head.length);
  }

  private finish(end: number): void {
    this.done = true;
    // RFC 5322 3.6.4, with folding (RFC 5322 2.2.3) undone.
    const header = this.head.slice(0, end).replace(/\r?\n[ \t]+/g, " ");
    this.head = "";
    const m = /^message-id:[ \t]*(<[^<>\s]{1,900}>)/im.exec(header);
    if (m) this.messageId = m[1];
  }
}
