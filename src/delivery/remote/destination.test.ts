/** Connection slots per destination: the limit, the bounded waiting line, hand-over and reuse. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Destination, RateLimiter } from "./destination.js";
import type { SmtpClient } from "../../smtp/client/client.js";

const fakeClient = () => {
  const c = { usable: true, quits: 0, quit: async () => void c.quits++ };
  return c as unknown as SmtpClient & { quits: number };
};

test("at most `limit` at once; then a bounded line; past it, null (defer at once)", async () => {
  const d = new Destination("slow.test", 2, 1000, 10, 6);
  const a = await d.acquire();
  const b = await d.acquire();
  assert.equal(a?.client, null);
  assert.equal(b?.client, null);
  const waiting = [d.acquire(), d.acquire(), d.acquire(), d.acquire()];
  assert.ok(waiting.every((w) => w instanceof Promise));
  assert.equal(d.acquire(), null, "the line is full");
  // A released connection goes straight to the first waiter.
  const c = fakeClient();
  d.release(c, 1, "mx.slow.test");
  assert.deepEqual(await waiting[0], { client: c, used: 1, server: "mx.slow.test" });
  d.release(null, 0);
  assert.deepEqual(await waiting[1], { client: null, used: 0 });
  await d.close();
});

test("idle connections are reused, expire, and are not reused past maxMessagesPerConnection", async () => {
  const d = new Destination("x.test", 1, 30, 2);
  await d.acquire();
  const c = fakeClient();
  d.release(c, 1);
  const again = await d.acquire();
  assert.equal(again?.client, c);
  d.release(c, 2); // used up: QUIT, not kept
  assert.equal(c.quits, 1);
  assert.equal((await d.acquire())?.client, null);
  const e = fakeClient();
  d.release(e, 1);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(e.quits, 1, "the idle connection expired");
  assert.equal(d.busy, false);
});

test("RateLimiter admits `messages` per window per destination and says how long until the next slot", () => {
    const rates = new RateLimiter((key) => (key === "free.test" ? null : { messages: 2, perMs: 1000 }));
    assert.equal(rates.take("a.test", 0), 0);
    assert.equal(rates.take("a.test", 100), 0);
    assert.equal(rates.take("a.test", 200), 800, "the first slot frees at 1000");
    assert.equal(rates.take("b.test", 200), 0, "each destination has its own window");
    assert.equal(rates.take("a.test", 1000), 0);
    assert.equal(rates.take("a.test", 1050), 50, "the second slot frees at 1100");
    for (let i = 0; i < 10; i++) assert.equal(rates.take("free.test", 0), 0);
});
