import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageIdSniffer } from "./message-id.js";

const sniff = (...parts: string[]) => {
  const s = new MessageIdSniffer();
  for (const p of parts) s.update([Buffer.from(p, "latin1")]);
  return s.messageId;
};

test("Message-ID from the header, across parts, folded, any case", () => {
  assert.equal(sniff("Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n"), "<a@b>");
  assert.equal(sniff("Subject: x\r\nMess", "age-id:   <split@parts.example>\r\n", "\r\nbody"), "<split@parts.example>");
  assert.equal(sniff("message-id:\r\n <folded@x>\r\n\r\n"), "<folded@x>");
});

test("only the header counts; absent or malformed ids give nothing", () => {
  assert.equal(sniff("Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n"), undefined);
  assert.equal(sniff("Subject: x\r\n\r\n"), undefined);
  assert.equal(sniff("X-Message-ID: <no@x>\r\n\r\n"), undefined);
  assert.equal(sniff("Message-ID: no-brackets@x\r\n\r\n"), undefined);
});

test("a header larger than 64 KiB stops the search", () => {
  assert.equal(sniff("X-Pad: " + "a".repeat(70_000) + "\r\nMessage-ID: <late@x>\r\n\r\n"), undefined);
});
