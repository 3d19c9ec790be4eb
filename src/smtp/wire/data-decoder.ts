/**
 * Decodes message content from the SMTP stream: DATA (dot-stuffed, ended by CRLF.CRLF) or
 * BDAT (raw octets). One byte-level state machine, fed chunk by chunk, that never buffers
 * the message: it returns slices of the input to write to the spool.
 *
 * RFC 5321 4.1.1.4: the end of data is exactly CRLF "." CRLF. A bare LF or bare CR is never a
 * line ending here, so "\n.\n", "\r\n.\n" and "\n.\r\n" never end the message (SMTP smuggling).
 * RFC 5321 4.5.2: a leading "." on a line is removed (dot-stuffing undone).
 * Bare CR / bare LF are flagged (the session rejects) or, when normalising, turned into CRLF.
 */
const CR = 13;
const LF = 10;
const DOT = 46;
const CRLF = Buffer.from("\r\n");
const JUST_CR = Buffer.from("\r");
const JUST_LF = Buffer.from("\n");

const enum S {
  LineStart, // just after CRLF (or at the start of the data)
  Body, // inside a line
  Cr, // saw CR, waiting to see whether LF follows
  Dot, // saw "." at the start of a line (not emitted)
  DotCr, // saw ".\r" at the start of a line (not emitted)
}

export interface DecoderOptions {
  /** true for DATA (dot-stuffing and the CRLF.CRLF terminator), false for BDAT. */
  dotStuffed: boolean;
  /** Turn bare CR / bare LF into CRLF instead of only flagging them. */
  normalize: boolean;
  /** Longest allowed line including its CRLF (RFC 5321 4.5.3.1.6: 1000). */
  maxLineLength: number;
  /** Largest message accepted; past it, input is still scanned but nothing more is returned. */
  maxSize: number;
}

export interface DecodeResult {
  /** Decoded content to append to the message. */
  parts: Buffer[];
  /** Offset in the chunk just past the terminator, or -1 when the data has not ended. */
  end: number;
}

export class DataDecoder {
  private state: S = S.LineStart;
  private lineLength = 0;
  /** Octets of message content seen so far (counted even past maxSize). */
  size = 0;
  bareLineEnding = false;
  lineTooLong = false;
  tooBig = false;

  constructor(private readonly opts: DecoderOptions) {}

  push(chunk: Buffer): DecodeResult {
    const parts: Buffer[] = [];
    const { dotStuffed, normalize, maxLineLength } = this.opts;
    let segStart = 0; // start of the pending run of bytes to emit from this chunk
    let state = this.state;
    let lineLength = this.lineLength;
    const emit = (from: number, to: number): void => {
      if (to > from) this.out(parts, chunk.subarray(from, to));
    };
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      // Some states resolve into another one and re-dispatch the same byte.
      for (;;) {
        if (state === S.Body || state === S.LineStart) {
          if (state === S.LineStart && dotStuffed && b === DOT) {
            emit(segStart, i); // everything before the dot
            segStart = i + 1;
            state = S.Dot;
            break;
          }
          if (b === CR) {
            state = S.Cr;
          } else if (b === LF) {
            // Bare LF: never a line ending for the state machine.
            this.bareLineEnding = true;
            lineLength = 0;
            if (normalize) {
              emit(segStart, i);
              this.out(parts, CRLF);
              segStart = i + 1;
            }
            state = S.Body;
          } else {
            state = S.Body;
            if (++lineLength > maxLineLength - 2) this.lineTooLong = true;
          }
          break;
        }
        if (state === S.Cr) {
          if (b === LF) {
            state = S.LineStart;
            lineLength = 0;
            break;
          }
          // The previous CR was bare.
          this.bareLineEnding = true;
          if (normalize) {
            emit(segStart, i);
            this.out(parts, JUST_LF);
            segStart = i;
          }
          state = S.Body;
          continue; // re-dispatch b in Body
        }
        if (state === S.Dot) {
          if (b === CR) {
            state = S.DotCr;
            break;
          }
          // A stuffed dot: it stays removed; b is ordinary content. RFC 5321 4.5.3.1.6: the
          // dot duplicated for transparency does not count toward the line length.
          segStart = i;
          state = S.Body;
          continue;
        }
        // S.DotCr
        if (b === LF) {
          // CRLF "." CRLF: end of data. The final CRLF before the dot belongs to the message.
          this.state = S.LineStart;
          this.lineLength = 0;
          return { parts, end: i + 1 };
        }
        // ".\r" then not LF: the dot was stuffing, the CR is bare.
        this.out(parts, JUST_CR);
        segStart = i;
        state = S.Cr;
        continue;
      }
    }
    if (state !== S.Dot && state !== S.DotCr) emit(segStart, chunk.length);
    this.state = state;
    this.lineLength = lineLength;
    return { parts, end: -1 };
  }

  /** End of BDAT LAST: resolve a trailing bare CR. */
  finish(): Buffer[] {
    const parts: Buffer[] = [];
    if (this.state === S.Cr) {
      this.bareLineEnding = true;
      if (this.opts.normalize) this.out(parts, JUST_LF);
    }
    this.state = S.LineStart;
    return parts;
  }

  private out(parts: Buffer[], b: Buffer): void {
    this.size += b.length;
    if (this.size > this.opts.maxSize) {
      this.tooBig = true;
      return;
    }
    parts.push(b);
  }
}
