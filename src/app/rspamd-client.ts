/**
 * rspamd's HTTP protocol (https://rspamd.com/doc/developers/protocol.html): POST /checkv2
 * with the envelope in request headers (IP, Helo, From, one Rcpt per recipient, Queue-Id,
 * User, MTA-Name) and the message as the body, streamed from the queue's spool with chunked
 * encoding; the answer is JSON. The whole exchange is bounded by `timeoutMs`; any failure
 * (refused connection, timeout, non-200, bad JSON) rejects, and the policy applies onError.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";
import { parseCheckv2, type SpamCheckRequest, type SpamResult, type SpamScanner } from "../policy/spam-filter.js";

/** Longest JSON answer read (rspamd's answers are a few KiB). */
const MAX_ANSWER = 1024 * 1024;

/** Header values go on the wire as they are: no CR, LF or non-ASCII. */
const safe = (v: string) => v.replace(/[^\x20-\x7e]/g, "?").slice(0, 998);

export class RspamdClient implements SpamScanner {
  private readonly url: URL;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL("checkv2", url.endsWith("/") ? url : `${url}/`);
  }

  check(req: SpamCheckRequest): Promise<SpamResult> {
    const headers: [string, string][] = [
      ["IP", req.ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1")],
      ["Helo", req.helo],
      ["From", req.from],
      ["Queue-Id", req.queueId],
      ["MTA-Name", req.mta],
      ...req.rcpts.map((r): [string, string] => ["Rcpt", r]),
      ...(req.user ? [["User", req.user] as [string, string]] : []),
    ];
    // Raw header pairs: Rcpt appears once per recipient.
    const raw = headers.filter(([, v]) => v !== "").flatMap(([k, v]) => [k, safe(v)]);
    const send = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<SpamResult>((resolve, reject) => {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new Error(`rspamd did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      const r = send(this.url, { method: "POST", headers: [...raw, "Transfer-Encoding", "chunked", "Content-Type", "message/rfc822"], signal: ac.signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER) res.destroy(new Error("rspamd answer too large"));
          else chunks.push(c);
        });
        res.on("error", (e) => done(() => reject(e)));
        res.on("end", () =>
          done(() => {
            if (res.statusCode !== 200) return reject(new Error(`rspamd answered HTTP ${res.statusCode}`));
            try {
              resolve(parseCheckv2(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
            } catch (e) {
              reject(e instanceof SyntaxError ? new Error("rspamd answer is not JSON") : e);
            }
          }),
        );
      });
      r.on("error", (e) => done(() => reject(ac.signal.aborted ? (ac.signal.reason as Error) : e)));
      // The message is complete in the spool: stream it (backpressure through pipeline).
      pipeline(req.message(), r).catch((e: Error) => done(() => reject(ac.signal.aborted ? (ac.signal.reason as Error) : e)));
    });
  }
}
