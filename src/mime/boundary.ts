/**
 * The boundary delimiters of the multiparts open at a point of the parse, and the search for the
 * next delimiter line.
 *
 * RFC 2046 5.1.1: a delimiter line starts with "--" + boundary at the start of a line; the close
 * delimiter adds "--". "Boundary string comparisons must compare the boundary value with the
 * beginning of each candidate line. An exact match of the entire candidate line is not required",
 * so transport padding (or anything else) may follow. As Dovecot does, when several open
 * boundaries match a line the longest wins, and among equal ones the innermost: a nested
 * multipart whose boundary extends an outer one ("b" and "b_1") still parses.
 *
 * The open boundaries live in a trie, so testing a line costs at most the longest boundary's
 * length whatever the nesting depth: the whole search stays linear in the message size.
 */
import { Finder, LF } from "./bytes.js";

/** A delimiter line found in the raw message. */
export interface Delimiter {
  /** Offset of the first "-". */
  lineStart: number;
  /** Offset just past the line's LF (or the end of the message). */
  lineEnd: number;
  /** Which open multipart it belongs to (see BoundarySet.open). */
  owner: number;
  /** True for the close delimiter ("--" after the boundary). */
  close: boolean;
}

interface TrieNode {
  next: Map<number, TrieNode>;
  /** Multiparts whose boundary ends at this node (the same boundary may be open twice). */
  owners: number[];
}

const DASH = 0x2d;

const node = (): TrieNode => ({ next: new Map(), owners: [] });

export class BoundarySet {
  private readonly root = node();
  /** Open multiparts, outermost first; owner ids grow inwards. */
  private readonly open: { owner: number; boundary: Buffer }[] = [];
  private lastOwner = 0;
  /** Candidate lines: those that start with "--". */
  private readonly dashes: Finder;

  constructor(private readonly raw: Buffer) {
    this.dashes = new Finder(raw, Buffer.from("\n--", "latin1"));
  }

  get empty(): boolean {
    return this.open.length === 0;
  }

  /** Opens a multipart's boundary (the bytes after "--"); returns its owner id. */
  push(boundary: Buffer): number {
    const owner = ++this.lastOwner;
    this.open.push({ owner, boundary });
    let n = this.root;
    for (const byte of boundary) {
      let child = n.next.get(byte);
      if (!child) n.next.set(byte, (child = node()));
      n = child;
    }
    n.owners.push(owner);
    return owner;
  }

  /** Closes the boundaries of `owner` and of every multipart inside it. */
  closeFrom(owner: number): void {
    while (this.open.length > 0 && this.open[this.open.length - 1]!.owner >= owner) {
      this.remove(this.open.pop()!);
    }
  }

  private remove(entry: { owner: number; boundary: Buffer }): void {
    const trail: TrieNode[] = [this.root];
    let n = this.root;
    for (const byte of entry.boundary) {
      n = n.next.get(byte)!;
      trail.push(n);
    }
    n.owners.splice(n.owners.indexOf(entry.owner), 1);
    // Prune the branch that no longer leads to an open boundary.
    for (let i = entry.boundary.length; i > 0; i--) {
      const t = trail[i]!;
      if (t.owners.length > 0 || t.next.size > 0) break;
      trail[i - 1]!.next.delete(entry.boundary[i - 1]!);
    }
  }

  /**
   * The delimiter line at line start `p`, or null. A delimiter of an outer multipart implicitly
   * ends the multiparts inside it: their boundaries are closed here.
   */
  matchAt(p: number): Delimiter | null {
    const raw = this.raw;
    if (this.open.length === 0 || raw[p] !== DASH || raw[p + 1] !== DASH) return null;
    let n: TrieNode | undefined = this.root;
    let best = 0;
    let bestLen = 0;
    for (let i = p + 2; i < raw.length; i++) {
      n = n.next.get(raw[i]!);
      if (!n) break;
      if (n.owners.length > 0) {
        best = n.owners[n.owners.length - 1]!;
        bestLen = i + 1 - (p + 2);
      }
    }
    if (best === 0) return null;
    const after = p + 2 + bestLen;
    const close = raw[after] === DASH && raw[after + 1] === DASH;
    const lf = raw.indexOf(LF, after);
    this.closeInside(best);
    return { lineStart: p, lineEnd: lf < 0 ? raw.length : lf + 1, owner: best, close };
  }

  /** The first delimiter line that starts in [from, limit), or null. `from` is a line start. */
  next(from: number, limit = this.raw.length): Delimiter | null {
    if (this.open.length === 0 || from >= limit) return null;
    const first = this.matchAt(from);
    if (first) return first;
    for (let i = this.dashes.next(from); i >= 0 && i + 1 < limit; i = this.dashes.next(i + 1)) {
      const d = this.matchAt(i + 1);
      if (d) return d;
    }
    return null;
  }

  /** Close the multiparts nested inside `owner` (their delimiters can no longer come). */
  private closeInside(owner: number): void {
    this.closeFrom(owner + 1);
  }
}
