/**
 * AUTH (RFC 4954): the engine side of SASL. Mechanisms come from the handler; the engine
 * moves base64 lines, supports the initial response ("=" for empty), "*" to cancel, and
 * refuses bad base64 with 501.
 */
import type { SmtpSession } from "../session.js";
import { R } from "../../replies.js";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decode(line: string): Buffer | null {
  if (line === "=") return Buffer.alloc(0);
  if (!BASE64.test(line) || line.length % 4 !== 0) return null;
  return Buffer.from(line, "base64");
}

export async function auth(s: SmtpSession, arg: string): Promise<void> {
  if (s.authUser) return s.error(R.alreadyAuthenticated());
  if (s.txn) return s.error(R.authInTransaction());
  const mechs = s.handler.saslMechanisms?.(s.view) ?? [];
  if (mechs.length === 0 || !s.handler.startSasl) return s.error(R.authNotAvailable());
  if (s.opts.authRequiresTls && !s.tls) return s.error(R.tlsRequired());
  const [mechRaw, initial, extra] = arg.split(" ");
  const mech = (mechRaw ?? "").toUpperCase();
  if (!mech || extra !== undefined) return s.error(R.syntax("Syntax: AUTH mechanism [initial-response]"));
  if (!mechs.includes(mech)) return s.error(R.authMechanismUnknown());
  const exchange = s.handler.startSasl(s.view, mech);
  if (!exchange) return s.error(R.authMechanismUnknown());

  const step = async (response: Buffer | null): Promise<void> => {
    const result = await exchange.step(response);
    if ("challenge" in result) {
      s.send(R.authChallenge(result.challenge.toString("base64")));
      s.saslPending = true;
      s.saslLine = onLine;
      return;
    }
    s.saslPending = false;
    s.saslLine = undefined;
    if ("user" in result) {
      s.authUser = result.user;
      s.log.info({ event: "auth", mechanism: mech, user: result.user, result: "ok" }, "authenticated");
      s.send(R.authOk());
    } else {
      s.log.info({ event: "auth", mechanism: mech, result: "failed" }, "authentication failed");
      s.error(R.authFailed());
    }
  };
  const onLine = async (line: string): Promise<void> => {
    if (line === "*") {
      s.saslPending = false;
      s.saslLine = undefined;
      return s.error(R.authCancelled());
    }
    const data = decode(line);
    if (!data) {
      s.saslPending = false;
      s.saslLine = undefined;
      return s.error(R.authBadBase64());
    }
    await step(data);
  };

  if (initial !== undefined) {
    const data = decode(initial);
    if (!data) return s.error(R.authBadBase64());
    await step(data);
  } else {
    await step(null);
  }
}
