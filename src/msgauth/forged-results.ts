/**
 * Removes Authentication-Results fields that claim our authserv-id from a message as it streams
 * past (RFC 8601 5). Fields can only be removed from the header block, which is small: it is
 * held until its blank line has arrived, filtered, and passed on; the body streams straight
 * through. A header block longer than `maxHeader` is passed on as it is and reported, so that
 * the caller refuses the message (nothing forged may slip through unfiltered).
 */
import { fieldName, fieldValue, forEachField } from "../mime/header.js";
import { claimsAuthservId } from "./auth-results.js";

const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

export class ForgedResultsFilter {
  private held: Buffer[] = [];
  private heldSize = 0;
  private inBody = false;
  /** Forged fields removed so far. */
  removed = 0;
  /** The header block exceeded maxHeader. */
  tooLarge = false;

  constructor(
    private readonly authservId: string,
    private readonly forward: (parts: readonly Buffer[]) => void | Promise<void>,
    private readonly maxHeader: number,
  ) {}

  async write(parts: readonly Buffer[]): Promise<void> {
    if (this.inBody) return this.forward(parts);
    for (const p of parts) {
      this.held.push(p);
      this.heldSize += p.length;
    }
    const content = Buffer.concat(this.held, this.heldSize);
    this.held = [content];
    // A message may also begin with the empty line (no header at all).
    const end = content.length >= 2 && content[0] === 13 && content[1] === 10 ? 0 : content.indexOf(CRLFCRLF);
    if (end >= 0) return this.release(content, end === 0 ? 0 : end + 2);
    if (this.heldSize > this.maxHeader) {
      this.tooLarge = true;
      this.inBody = true;
      this.held = [];
      return this.forward([content]);
    }
  }

  /** End of data: pass on a message that never had an empty line (all header). */
  async end(): Promise<void> {
    if (this.inBody) return;
    const content = Buffer.concat(this.held, this.heldSize);
    await this.release(content, content.length);
  }

  private async release(content: Buffer, headerEnd: number): Promise<void> {
    this.inBody = true;
    this.held = [];
    const keep: Buffer[] = [];
    let from = 0;
    forEachField(content, 0, headerEnd, (f) => {
      if (fieldName(content, f).toLowerCase() === "authentication-results" && claimsAuthservId(fieldValue(content, f).text, this.authservId)) {
        if (f.start > from) keep.push(content.subarray(from, f.start));
        from = f.end;
        this.removed++;
      }
    });
    keep.push(content.subarray(from));
    await this.forward(keep);
  }
}
