/**
 * A certificate authority for tests (openssl): certificates for host names that a client
 * trusts when it is given the CA's certificate (outbound.caFile), unlike self-signed ones.
 *
 *   const ca = makeCa(dir);
 *   const { cert, key } = ca.issue("mx1", ["mx1.remote.test"]);   // file paths
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCa {
  /** The CA certificate's file (PEM). */
  certFile: string;
  /** Issue a certificate for these names; returns the cert and key files. */
  issue(name: string, hostnames: string[]): { cert: string; key: string };
}

const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });

export function makeCa(dir: string): TestCa {
  const caKey = join(dir, "ca.key");
  const caCert = join(dir, "ca.crt");
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", caCert, "-days", "30", "-subj", "/CN=Petrel Test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  let serial = 1;
  return {
    certFile: caCert,
    issue(name, hostnames) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.crt`);
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, `subjectAltName=${hostnames.map((h) => `DNS:${h}`).join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
      openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${hostnames[0]}`]);
      openssl(["x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-set_serial", String(serial++ + Date.now()), "-out", cert, "-days", "30", "-extfile", ext]);
      return { cert, key };
    },
  };
}
