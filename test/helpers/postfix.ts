/**
 * A private Postfix instance (Debian's postfix package) as a real remote MTA for outbound
 * tests: its own config, queue and data directories in a temp dir, smtpd on 127.0.0.1:PORT,
 * virtual mailboxes (Maildir) for the listed users of `domain`, unknown users there refused at
 * RCPT (550 5.1.1), a second domain `bounceDomain` that accepts every address and bounces it
 * afterwards (local(8): unknown user), and every other domain relayed to `relayPort` on
 * 127.0.0.1 (its bounces go there: our Petrel). Started with `postfix -c DIR start`.
 *
 * postfixUnavailable() says why it cannot run here (not installed, not root), or null.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./server.js";

export interface PostfixInstance {
  dir: string;
  port: number;
  /** The messages in a user's Maildir (new/), oldest first. */
  maildir(user: string): Buffer[];
  log(): string;
  stop(): void;
}

export function postfixUnavailable(): string | null {
  if (!existsSync("/usr/sbin/postfix")) return "postfix is not installed (apt-get install postfix; .ci/run installs it)";
  if (process.getuid?.() !== 0) return "a private postfix instance needs root (master runs as root and drops to the postfix user)";
  if (!existsSync("/usr/lib/postfix/sbin/master")) return "postfix daemons not found in /usr/lib/postfix/sbin";
  return null;
}

const SERVICES = `
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

export function startPostfix(opts: { port: number; relayPort: number; domain: string; bounceDomain: string; users: string[] }): PostfixInstance {
  const dir = tempDir("petrel-postfix-");
  chmodSync(dir, 0o755);
  const mail = join(dir, "mail");
  mkdirSync(mail);
  chmodSync(mail, 0o777);
  writeFileSync(join(dir, "vmailbox"), opts.users.map((u) => `${u}@${opts.domain} ${opts.domain}/${u}/\n`).join(""));
  writeFileSync(
    join(dir, "main.cf"),
    [
      "compatibility_level = 3.6",
      `queue_directory = ${dir}/queue`,
      `data_directory = ${dir}/data`,
      "meta_directory = /etc/postfix",
      "mail_owner = postfix",
      "setgid_group = postdrop",
      `myhostname = mx.${opts.domain}`,
      `mydomain = ${opts.domain}`,
      `myorigin = ${opts.domain}`,
      "inet_interfaces = 127.0.0.1",
      "inet_protocols = ipv4",
      "mynetworks = 127.0.0.0/8",
      `mydestination = ${opts.bounceDomain}`,
      // Every address of bounceDomain is accepted; local(8) then bounces the unknown user.
      "local_recipient_maps =",
      "alias_maps =",
      "alias_database =",
      `virtual_mailbox_domains = ${opts.domain}`,
      `virtual_mailbox_base = ${mail}`,
      `virtual_mailbox_maps = texthash:${dir}/vmailbox`,
      "virtual_uid_maps = static:65534",
      "virtual_gid_maps = static:65534",
      `relayhost = [127.0.0.1]:${opts.relayPort}`,
      "smtp_dns_support_level = disabled",
      "smtp_tls_security_level = none",
      `maillog_file = ${dir}/maillog`,
      `maillog_file_prefixes = ${dir}`,
      "biff = no",
      "notify_classes =",
      "delay_warning_time = 0",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "master.cf"), `127.0.0.1:${opts.port} inet n - n - - smtpd\n${SERVICES}`);
  const postfix = (...args: string[]) => execFileSync("/usr/sbin/postfix", ["-c", dir, ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  // The queue directory belongs to root; `postfix check` makes its subdirectories (owned by postfix).
  mkdirSync(join(dir, "queue"));
  mkdirSync(join(dir, "data"));
  execFileSync("chown", ["postfix", join(dir, "data")]);
  postfix("check");
  postfix("start");
  return {
    dir,
    port: opts.port,
    maildir(user) {
      const nd = join(mail, opts.domain, user, "new");
      if (!existsSync(nd)) return [];
      return readdirSync(nd)
        .sort()
        .map((f) => readFileSync(join(nd, f)));
    },
    log: () => (existsSync(join(dir, "maillog")) ? readFileSync(join(dir, "maillog"), "utf8") : ""),
    stop() {
      try {
        postfix("stop");
      } catch {
        /* already stopped */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
