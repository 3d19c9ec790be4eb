import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync, deflateRawSync } from "node:zlib";
import { aggregateReportXml, parseAggregateReport, parseXml, type AggregateReport } from "./dmarc-aggregate.js";
import { reportDocuments, unzip } from "./dmarc-report-mail.js";

const REPORT: AggregateReport = {
  orgName: "Petrel <mx> & co",
  email: "dmarc@petrel.test",
  reportId: "sender.test.1764460800.ab12",
  begin: 1764460800,
  end: 1764547200,
  errors: [],
  policy: { domain: "sender.test", adkim: "r", aspf: "s", p: "reject", sp: "quarantine", pct: 50, fo: "1" },
  records: [
    {
      sourceIp: "2001:db8::1",
      count: 7,
      disposition: "quarantine",
      dkim: "fail",
      spf: "pass",
      reasons: [{ type: "sampled_out" }],
      headerFrom: "sender.test",
      envelopeFrom: "bounce.sender.test",
      envelopeTo: "petrel.test",
      authDkim: [{ domain: "sender.test", selector: "s1", result: "fail" }],
      authSpf: [{ domain: "bounce.sender.test", scope: "mfrom", result: "pass" }],
    },
  ],
};

test("aggregate report XML: written, then read back the same (escaping included)", () => {
  const xml = aggregateReportXml(REPORT);
  assert.match(xml, /<org_name>Petrel &lt;mx&gt; &amp; co<\/org_name>/);
  assert.deepEqual(parseAggregateReport(xml), { ...REPORT, extraContactInfo: undefined });
});

test("XML reader: CDATA, comments, entities, namespaces; DTDs and broken nesting refused", () => {
  const n = parseXml(`<?xml version="1.0"?><!-- c --><a:feedback xmlns:a="x"><b>&#65;&#x42;&lt;<![CDATA[<c>]]></b><e/></a:feedback>`);
  assert.equal(n.children[0]!.name, "feedback");
  assert.equal(n.children[0]!.children[0]!.text, "AB<<c>");
  assert.throws(() => parseXml(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`), /DTD/);
  assert.throws(() => parseXml("<a><b></a>"), /unexpected/);
  assert.throws(() => parseXml("<a>"), /not closed/);
  assert.throws(() => parseAggregateReport("<other/>"), /no <feedback>/);
});

test("report documents: gzip and zip attachments, plain XML body; zip bombs stop at the limit", () => {
  const xml = aggregateReportXml(REPORT);
  const gz = gzipSync(xml).toString("base64");
  const mail = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="x!y!1!2.xml.gz"\r\nContent-Transfer-Encoding: base64\r\n\r\n${gz}\r\n--b--\r\n`);
  assert.deepEqual(reportDocuments(mail), [xml]);
  assert.deepEqual(reportDocuments(Buffer.from(`Content-Type: application/xml\r\n\r\n${xml}`)), [xml]);
  assert.deepEqual(reportDocuments(Buffer.from("Subject: hi\r\n\r\nnot a report\r\n")), []);
  // A zip entry that claims more than the limit is refused before inflating.
  const entry = (usize: number) => {
    const data = deflateRawSync(Buffer.from("<feedback/>"));
    const name = Buffer.from("a.xml");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(usize, 24);
    central.writeUInt16LE(name.length, 28);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(1, 10);
    eocd.writeUInt32LE(30 + name.length + data.length, 16);
    return Buffer.concat([local, name, data, central, name, eocd]);
  };
  assert.equal(unzip(entry(11))[0]!.data.toString(), "<feedback/>");
  assert.throws(() => unzip(entry(1 << 30)), /too large/);
  assert.throws(() => unzip(Buffer.from("not a zip at all, not at all, really not")), /end of central directory/);
});
