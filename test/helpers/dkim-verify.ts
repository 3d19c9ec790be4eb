/**
 * An independent DKIM verifier for tests: Debian's dkimpy (python3-dkim, /usr/bin/python3),
 * fetching keys from a loopback DNS server (test/helpers/dns-server.ts) through dnspython.
 * Returns one verdict per DKIM-Signature, topmost first, with its d=, s= and a=.
 */
import { spawn } from "node:child_process";

export interface DkimVerdict {
  ok: boolean;
  domain: string;
  selector: string;
  algorithm: string;
}

/** dnspython pointed at the loopback DNS server (argv host, port), as dkimpy's dnsfunc. */
const DNS_PRELUDE = String.raw`
import sys, json, dkim, dns.resolver, dns.rdatatype
host, port = sys.argv[1], int(sys.argv[2])
res = dns.resolver.Resolver(configure=False)
res.nameservers = [host]
res.port = port
def dnsfunc(name, timeout=5):
    if isinstance(name, bytes): name = name.decode()
    try:
        a = res.resolve(name, dns.rdatatype.TXT, lifetime=timeout, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return None
    for r in a.response.answer:
        if r.rdtype == dns.rdatatype.TXT:
            return b"".join(list(r.items)[0].strings)
    return None
`;

const SCRIPT = DNS_PRELUDE + String.raw`
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
out = []
sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
for i, raw in enumerate(sigs):
    tags = dkim.util.parse_tag_value(raw)
    try:
        ok = bool(d.verify(idx=i, dnsfunc=dnsfunc))
    except Exception as e:
        ok = False
    out.append({"ok": ok, "domain": tags[b"d"].decode(), "selector": tags[b"s"].decode(), "algorithm": tags[b"a"].decode()})
print(json.dumps(out))
`;

export function dkimpyVerify(message: Buffer, dnsServer: string): Promise<DkimVerdict[]> {
  return runDkimpy<DkimVerdict[]>(SCRIPT, message, dnsServer);
}

const ARC_SCRIPT = DNS_PRELUDE + String.raw`
cv, results, reason = dkim.arc_verify(sys.stdin.buffer.read(), dnsfunc=dnsfunc)
print(json.dumps({"cv": cv.decode() if isinstance(cv, bytes) else str(cv), "reason": str(reason), "instances": [r.get("instance") for r in results]}))
`;

/** dkimpy's ARC chain verification (RFC 8617) of a message, keys from the loopback DNS server. */
export function dkimpyArcVerify(message: Buffer, dnsServer: string): Promise<{ cv: string; reason: string; instances: number[] }> {
  return runDkimpy(ARC_SCRIPT, message, dnsServer);
}

function runDkimpy<T>(script: string, message: Buffer, dnsServer: string): Promise<T> {
  const [host, port] = dnsServer.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const p = spawn("/usr/bin/python3", ["-c", script, host, port], { stdio: ["pipe", "pipe", "pipe"], timeout: 30_000 });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`dkimpy exited with ${code}:\n${stderr}`));
      resolve(JSON.parse(stdout) as T);
    });
    p.stdin.end(message);
  });
}
