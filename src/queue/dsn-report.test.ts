/** Reading DSNs that come back: which queue entry they are about, and the per-recipient fields. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readDeliveryReport } from "./dsn-report.js";

const ID = "01KB0000000000AA";

const dsn = (status: string, third = "Content-Type: text/rfc822-headers\r\n\r\nSubject: x\r\n", type = "delivery-status") =>
  Buffer.from(
    `Content-Type: multipart/report; report-type=Delivery-Status;\r\n boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--b\r\nContent-Type: message/${type}\r\n\r\n${status}\r\n--b\r\n${third}\r\n--b--\r\n`,
  );

test("Original-Envelope-Id (xtext decoded) names the entry; folded fields; typed values unwrapped", () => {
  const r = readDeliveryReport(dsn(`Reporting-MTA: dns; mx.remote.test\r\nOriginal-Envelope-Id: ${ID}\r\n\r\nOriginal-Recipient: rfc822;bob+x@remote.test\r\nFinal-Recipient: rfc822; bob@remote.test\r\nAction: Failed\r\nStatus: 5.1.1 (no such user)\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n  no such user\r\n`), "mx.petrel.test");
  assert.deepEqual(r, { queueId: ID, recipients: [{ recipient: "bob@remote.test", action: "failed", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 no such user", remoteMta: "mx.remote.test" }] });
});

test("message/global-delivery-status (RFC 6533) is read too; an ENVID that is not a queue id falls back to the header", () => {
  const r = readDeliveryReport(dsn(`Original-Envelope-Id: their+2Bid\r\n\r\nFinal-Recipient: utf-8; jürgen@bücher.test\r\nAction: delayed\r\nStatus: 4.4.7\r\nRemote-MTA: dns; mx.bücher.test\r\n`, `Content-Type: message/global-headers\r\n\r\nX-Petrel-Queue-Id: ${ID}\r\n`, "global-delivery-status"), "mx.petrel.test");
  assert.equal(r?.queueId, ID, "X-Petrel-Queue-Id in message/global-headers");
  const r2 = readDeliveryReport(dsn(`Original-Envelope-Id: their+2Bid\r\n\r\nFinal-Recipient: utf-8; jürgen@bücher.test\r\nAction: delayed\r\nStatus: 4.4.7\r\nRemote-MTA: dns; mx.bücher.test\r\n`, `Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <${ID}@MX.Petrel.test>\r\n`, "global-delivery-status"), "mx.petrel.test");
  assert.deepEqual(r2?.recipients, [{ recipient: "jürgen@bücher.test", action: "delayed", status: "4.4.7", diagnostic: null, remoteMta: "mx.bücher.test" }]);
  assert.equal(r2?.queueId, ID);
});

test("not ours, not a DSN, or nothing usable: null, never a throw", () => {
  assert.equal(readDeliveryReport(dsn(`Original-Envelope-Id: nope\r\n\r\nFinal-Recipient: rfc822; a@b.test\r\nAction: failed\r\nStatus: 5.0.0\r\n`), "mx.petrel.test"), null);
  assert.equal(readDeliveryReport(dsn(`Original-Envelope-Id: ${ID}\r\n\r\nFinal-Recipient: rfc822; a@b.test\r\nAction: failed\r\n`), "mx.petrel.test"), null, "no Status");
  assert.equal(readDeliveryReport(dsn(`Original-Envelope-Id: ${ID}\r\n\r\nFinal-Recipient: rfc822; a@b.test\r\nAction: failed\r\nStatus: 5.0.0\r\n`, undefined, "disposition-notification"), "mx.petrel.test"), null);
  assert.equal(readDeliveryReport(Buffer.from("Subject: hello\r\n\r\nplain\r\n"), "mx.petrel.test"), null);
  assert.equal(readDeliveryReport(Buffer.from([0xff, 0x00, 0x0d]), "mx.petrel.test"), null);
});
