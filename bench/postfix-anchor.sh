#!/usr/bin/env bash
# Debian's Postfix as the reference ("anchor") SMTP server for `npm run bench -- --compare`.
#
#   bench/postfix-anchor.sh          install if missing, (re)configure, start; prints the master PID
#   bench/postfix-anchor.sh stop     stop it
#
# Idempotent: every run re-applies the same settings. Postfix listens on 127.0.0.1:$POSTFIX_PORT
# (default 2526) only, accepts mail for user@localhost and delivers it locally to /dev/null (an
# alias), so we measure the SMTP server and its durable queue, not a mailbox format. Postfix's
# durability is left as shipped: the queue file is fsynced before the 250, like Petrel's rule.
# Nothing is ever sent off this machine: remote and relay transports are "error".
set -euo pipefail

PORT="${POSTFIX_PORT:-2526}"
ADDR="127.0.0.1:${PORT}"

if [[ $(id -u) -ne 0 ]]; then
  echo "postfix-anchor: run as root (installs packages and starts Postfix)" >&2
  exit 1
fi

if [[ "${1:-}" == "stop" ]]; then
  postfix stop 2>/dev/null || true
  exit 0
fi

if ! command -v postconf >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  echo "postfix postfix/mailname string bench.localhost" | debconf-set-selections
  # stdout carries only the PID (for PID=$(...)): package chatter goes to stderr.
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends postfix >&2
fi

# main.cf: loopback only, local domain "localhost", big enough for the 50 MiB test.
# mailbox_size_limit must be >= message_size_limit or Postfix refuses to start; 0 = no limit.
# There is no syslog in a container, so Postfix logs to a file through postlogd.
postconf -e \
  "myhostname = bench.localhost" \
  "mydomain = localhost" \
  "inet_interfaces = loopback-only" \
  "inet_protocols = ipv4" \
  "mydestination = localhost, localhost.localdomain, \$myhostname" \
  "mynetworks = 127.0.0.0/8" \
  "relayhost =" \
  "default_transport = error:benchmark anchor delivers locally only" \
  "relay_transport = error:benchmark anchor delivers locally only" \
  "alias_maps = hash:/etc/aliases" \
  "alias_database = hash:/etc/aliases" \
  "message_size_limit = 62914560" \
  "mailbox_size_limit = 0" \
  "maillog_file = /var/log/postfix.log"

# master.cf: no listener on port 25; smtpd on 127.0.0.1:$PORT instead (Debian's defaults otherwise).
postconf -MX smtp/inet 2>/dev/null || true
postconf -M "${ADDR}/inet=${ADDR} inet n - y - - smtpd"

# The benchmark recipient: user@localhost, delivered to /dev/null by local(8).
touch /etc/aliases
if ! grep -q '^user:' /etc/aliases; then
  echo 'user: /dev/null' >>/etc/aliases
fi
newaliases >&2

# Debian runs smtpd chrooted; its init script copies resolv.conf, hosts etc. into the chroot.
# Without systemd/init we do the same, so smtpd resolves 127.0.0.1 the same way the host does.
if [[ -x /usr/lib/postfix/configure-instance.sh ]]; then
  /usr/lib/postfix/configure-instance.sh >/dev/null 2>&1 || true
fi

postfix check
if postfix status >/dev/null 2>&1; then
  postfix reload >/dev/null 2>&1
else
  postfix start >/dev/null 2>&1
fi

# Wait for the listener, then print the master's PID (the root of the process tree we measure).
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then break; fi
  sleep 0.1
done
PID=$(tr -d ' \n' </var/spool/postfix/pid/master.pid)
echo "postfix-anchor: Postfix listening on ${ADDR}, master PID ${PID}" >&2
echo "postfix-anchor: npm run bench -- --compare postfix=${ADDR},${PID}" >&2
echo "${PID}"
