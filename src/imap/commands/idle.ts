/**
 * IDLE (RFC 2177, RFC 9051 6.3.13): "+ idling", then mailbox changes are reported as they happen
 * until the client sends DONE. An IDLE longer than idleMaxMs ends the connection with BYE
 * (clients re-issue IDLE well before: 29 minutes is usual).
 */
import type { CommandContext, Done, ImapSession } from "../session.js";
import { TOO_LONG } from "../proto/reader.js";

export async function idle(s: ImapSession, c: CommandContext): Promise<Done> {
  c.p.end();
  let expired = false;
  const timer = s.clock.setTimer(s.opts.idleMaxMs, () => {
    expired = true;
    s.poke();
  });
  try {
    if (s.selected) await s.sync(true, true);
    s.continuation("idling");
    for (;;) {
      if (s.isClosing) return "answered";
      if (expired) {
        s.untagged("BYE IDLE for too long");
        s.endNow("idle too long");
        return "answered";
      }
      const line = s.takeLine();
      if (line === TOO_LONG) {
        s.write(`${c.tag} BAD Expected DONE\r\n`);
        return "answered";
      }
      if (line !== null) {
        if (line.toUpperCase() === "DONE") {
          if (s.selected) await s.sync(true);
          s.write(`${c.tag} OK IDLE terminated\r\n`);
        } else s.write(`${c.tag} BAD Expected DONE\r\n`);
        return "answered";
      }
      if (s.selected?.dirty) {
        await s.sync(true);
        await s.flushAndDrain();
        continue;
      }
      await s.waitEvent();
    }
  } finally {
    timer.cancel();
  }
}
