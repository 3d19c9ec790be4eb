/**
 * An independent signer for tests: Debian's dkimpy (python3-dkim, /usr/bin/python3) adds a
 * DKIM-Signature (RSA or Ed25519) or an ARC set (ARC-Seal, ARC-Message-Signature,
 * ARC-Authentication-Results, built from the message's Authentication-Results of `srvId`).
 * Returns the whole signed message.
 */
import { spawn } from "node:child_process";

const SCRIPT = String.raw`
import sys, json, dkim
opts = json.loads(sys.argv[1])
msg = sys.stdin.buffer.read()
key = opts["key"].encode()
alg = opts.get("algorithm", "rsa-sha256").encode()
if opts["mode"] == "dkim":
    heads = [h.encode() for h in opts.get("headers", ["from", "to", "subject", "date", "message-id"])]
    sig = dkim.sign(msg, opts["selector"].encode(), opts["domain"].encode(), key, signature_algorithm=alg, include_headers=heads, canonicalize=(b"relaxed", b"relaxed"))
    sys.stdout.buffer.write(sig + msg)
else:
    lines = dkim.arc_sign(msg, opts["selector"].encode(), opts["domain"].encode(), key, opts["srvId"].encode(), signature_algorithm=alg)
    sys.stdout.buffer.write(b"".join(lines) + msg)
`;

export interface DkimpySignOptions {
  mode: "dkim" | "arc";
  domain: string;
  selector: string;
  /** PEM (RSA) or base64 seed (Ed25519), as dkimpy takes them. */
  key: string;
  algorithm?: "rsa-sha256" | "ed25519-sha256";
  headers?: string[];
  /** ARC: the authserv-id whose Authentication-Results become the ARC-Authentication-Results. */
  srvId?: string;
}

export function dkimpySign(message: Buffer, opts: DkimpySignOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn("/usr/bin/python3", ["-c", SCRIPT, JSON.stringify(opts)], { stdio: ["pipe", "pipe", "pipe"], timeout: 30_000 });
    const out: Buffer[] = [];
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`dkimpy exited with ${code}:\n${stderr}`))));
    p.stdin.end(message);
  });
}
