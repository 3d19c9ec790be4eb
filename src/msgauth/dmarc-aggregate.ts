/**
 * DMARC aggregate reports (RFC 7489 7.2, the XML schema of its Appendix C): the report as data,
 * its XML written for the reports we send, and read back from the reports we receive.
 *
 * The reader is a small, bounded XML parser for this one document type: elements, attributes
 * (ignored), character data, CDATA, comments, the XML declaration and the five predefined
 * entities plus numeric references. No DTDs, no external entities (nothing to expand: a
 * <!DOCTYPE> is refused), so a hostile report cannot make it fetch or blow up anything.
 */

export interface AggregateAuthDkim {
  domain: string;
  selector?: string;
  result: string;
}
export interface AggregateAuthSpf {
  domain: string;
  scope?: string;
  result: string;
}

export interface AggregateRecord {
  sourceIp: string;
  count: number;
  disposition: string;
  /** policy_evaluated dkim / spf: the DMARC-aligned results, pass | fail. */
  dkim: string;
  spf: string;
  reasons: { type: string; comment?: string }[];
  headerFrom: string;
  envelopeFrom?: string;
  envelopeTo?: string;
  authDkim: AggregateAuthDkim[];
  authSpf: AggregateAuthSpf[];
}

export interface PolicyPublished {
  domain: string;
  adkim: string;
  aspf: string;
  p: string;
  sp: string;
  pct: number;
  fo?: string;
}

export interface AggregateReport {
  orgName: string;
  email: string;
  extraContactInfo?: string;
  reportId: string;
  /** Seconds since the epoch (the XML's unit). */
  begin: number;
  end: number;
  errors: string[];
  policy: PolicyPublished;
  records: AggregateRecord[];
}

// ---- writing ----

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, "");

function el(name: string, value: string | number | undefined, indent: string): string {
  return value === undefined || value === "" ? "" : `${indent}<${name}>${esc(String(value))}</${name}>\n`;
}

/** The report as RFC 7489 Appendix C XML (UTF-8). */
export function aggregateReportXml(r: AggregateReport): string {
  let x = `<?xml version="1.0" encoding="UTF-8"?>\n<feedback>\n  <version>1.0</version>\n  <report_metadata>\n`;
  x += el("org_name", r.orgName, "    ") + el("email", r.email, "    ") + el("extra_contact_info", r.extraContactInfo, "    ") + el("report_id", r.reportId, "    ");
  x += `    <date_range>\n${el("begin", r.begin, "      ")}${el("end", r.end, "      ")}    </date_range>\n`;
  for (const e of r.errors) x += el("error", e, "    ");
  x += `  </report_metadata>\n  <policy_published>\n`;
  const p = r.policy;
  x += el("domain", p.domain, "    ") + el("adkim", p.adkim, "    ") + el("aspf", p.aspf, "    ") + el("p", p.p, "    ") + el("sp", p.sp, "    ") + el("pct", p.pct, "    ") + el("fo", p.fo, "    ");
  x += `  </policy_published>\n`;
  for (const rec of r.records) {
    x += `  <record>\n    <row>\n${el("source_ip", rec.sourceIp, "      ")}${el("count", rec.count, "      ")}      <policy_evaluated>\n`;
    x += el("disposition", rec.disposition, "        ") + el("dkim", rec.dkim, "        ") + el("spf", rec.spf, "        ");
    for (const reason of rec.reasons) x += `        <reason>\n${el("type", reason.type, "          ")}${el("comment", reason.comment, "          ")}        </reason>\n`;
    x += `      </policy_evaluated>\n    </row>\n    <identifiers>\n`;
    x += el("envelope_to", rec.envelopeTo, "      ") + el("envelope_from", rec.envelopeFrom ?? "", "      ") + el("header_from", rec.headerFrom, "      ");
    x += `    </identifiers>\n    <auth_results>\n`;
    for (const d of rec.authDkim) x += `      <dkim>\n${el("domain", d.domain, "        ")}${el("selector", d.selector, "        ")}${el("result", d.result, "        ")}      </dkim>\n`;
    for (const s of rec.authSpf) x += `      <spf>\n${el("domain", s.domain, "        ")}${el("scope", s.scope, "        ")}${el("result", s.result, "        ")}      </spf>\n`;
    x += `    </auth_results>\n  </record>\n`;
  }
  return x + `</feedback>\n`;
}

// ---- reading ----

export interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

/** Limits of the reader: a real report with thousands of rows stays far below them. */
const MAX_NODES = 500_000;
const MAX_DEPTH = 32;

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e[0] === "#") {
      const n = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : "";
    }
    return ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}

/** Parse an XML document into elements (namespace prefixes dropped); throws on malformed input. */
export function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: "#document", children: [], text: "" };
  const stack: XmlNode[] = [root];
  let nodes = 0;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const top = stack[stack.length - 1]!;
    if (lt < 0) {
      if (xml.slice(i).trim()) top.text += decodeEntities(xml.slice(i));
      break;
    }
    if (lt > i) top.text += decodeEntities(xml.slice(i, lt));
    if (xml.startsWith("<?", lt)) {
      const e = xml.indexOf("?>", lt);
      if (e < 0) throw new Error("XML: unterminated processing instruction");
      i = e + 2;
    } else if (xml.startsWith("<!--", lt)) {
      const e = xml.indexOf("-->", lt);
      if (e < 0) throw new Error("XML: unterminated comment");
      i = e + 3;
    } else if (xml.startsWith("<![CDATA[", lt)) {
      const e = xml.indexOf("]]>", lt);
      if (e < 0) throw new Error("XML: unterminated CDATA");
      top.text += xml.slice(lt + 9, e);
      i = e + 3;
    } else if (xml.startsWith("<!", lt)) {
      throw new Error("XML: DTDs are not accepted");
    } else {
      const e = xml.indexOf(">", lt);
      if (e < 0) throw new Error("XML: unterminated tag");
      const tag = xml.slice(lt + 1, e);
      i = e + 1;
      if (tag.startsWith("/")) {
        const name = localName(tag.slice(1).trim());
        if (stack.length < 2 || top.name !== name) throw new Error(`XML: unexpected </${name}>`);
        stack.pop();
        continue;
      }
      const selfClosing = tag.endsWith("/");
      const name = localName((/^[^\s/]+/.exec(tag) ?? [""])[0]);
      if (!name) throw new Error("XML: empty tag name");
      if (++nodes > MAX_NODES) throw new Error("XML: too many elements");
      const node: XmlNode = { name, children: [], text: "" };
      top.children.push(node);
      if (!selfClosing) {
        if (stack.length > MAX_DEPTH) throw new Error("XML: nested too deeply");
        stack.push(node);
      }
    }
  }
  if (stack.length !== 1) throw new Error(`XML: <${stack[stack.length - 1]!.name}> is not closed`);
  return root;
}

const localName = (n: string) => n.slice(n.indexOf(":") + 1);

const child = (n: XmlNode | undefined, name: string) => n?.children.find((c) => c.name === name);
const all = (n: XmlNode | undefined, name: string) => n?.children.filter((c) => c.name === name) ?? [];
const text = (n: XmlNode | undefined, name: string) => child(n, name)?.text.trim() ?? "";
const optText = (n: XmlNode | undefined, name: string) => text(n, name) || undefined;

/** An aggregate report from its XML; throws when it is not one. */
export function parseAggregateReport(xml: string): AggregateReport {
  const feedback = child(parseXml(xml.replace(/^\uFEFF/, "")), "feedback");
  if (!feedback) throw new Error("not a DMARC aggregate report (no <feedback> element)");
  const meta = child(feedback, "report_metadata");
  const range = child(meta, "date_range");
  const pol = child(feedback, "policy_published");
  const orgName = text(meta, "org_name");
  const reportId = text(meta, "report_id");
  const policyDomain = text(pol, "domain").toLowerCase();
  const begin = Number(text(range, "begin"));
  const end = Number(text(range, "end"));
  if (!orgName || !reportId || !policyDomain || !Number.isFinite(begin) || !Number.isFinite(end)) throw new Error("DMARC report lacks org_name, report_id, date_range or policy domain");
  const p = text(pol, "p") || "none";
  const records: AggregateRecord[] = all(feedback, "record").map((rec) => {
    const row = child(rec, "row");
    const ev = child(row, "policy_evaluated");
    const ids = child(rec, "identifiers");
    const auth = child(rec, "auth_results");
    return {
      sourceIp: text(row, "source_ip"),
      count: Math.max(0, Math.floor(Number(text(row, "count")) || 0)),
      disposition: text(ev, "disposition") || "none",
      dkim: text(ev, "dkim") || "fail",
      spf: text(ev, "spf") || "fail",
      reasons: all(ev, "reason").map((r) => ({ type: text(r, "type"), ...(optText(r, "comment") ? { comment: optText(r, "comment") } : {}) })),
      headerFrom: text(ids, "header_from").toLowerCase(),
      envelopeFrom: optText(ids, "envelope_from"),
      envelopeTo: optText(ids, "envelope_to"),
      authDkim: all(auth, "dkim").map((d) => ({ domain: text(d, "domain"), selector: optText(d, "selector"), result: text(d, "result") })),
      authSpf: all(auth, "spf").map((s) => ({ domain: text(s, "domain"), scope: optText(s, "scope"), result: text(s, "result") })),
    };
  });
  return {
    orgName,
    email: text(meta, "email"),
    extraContactInfo: optText(meta, "extra_contact_info"),
    reportId,
    begin,
    end,
    errors: all(meta, "error").map((e) => e.text.trim()),
    policy: { domain: policyDomain, adkim: text(pol, "adkim") || "r", aspf: text(pol, "aspf") || "r", p, sp: text(pol, "sp") || p, pct: Number(text(pol, "pct") || 100), fo: optText(pol, "fo") },
    records,
  };
}
