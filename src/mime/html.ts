/**
 * HTML to plain text for SEARCH: tags, comments, scripts and styles dropped, entities decoded
 * (the full HTML5 table, through `entities`). Not a renderer: block tags become line breaks and
 * that is all. One forward pass, so hostile markup (unclosed tags or comments) stays linear.
 */
import { decodeHTML } from "entities";

/** Tags that break a line; table cells separate words; other tags (b, span, a...) join text. */
const BLOCK = new Set(["br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "hr", "title", "ul", "ol", "dd", "dt", "section", "article", "header", "footer"]);
const CELL = new Set(["td", "th", "img", "input", "button", "option"]);

/** Index of the end of the raw-text element `name` (script, style) from `from`, or -1. */
function closingTag(html: string, name: string, from: number): number {
  const re = new RegExp(`</${name}[\\s>/]`, "gi");
  re.lastIndex = from;
  const m = re.exec(html);
  return m ? m.index : -1;
}

export function htmlToText(html: string): string {
  const out: string[] = [];
  let p = 0;
  while (p < html.length) {
    const lt = html.indexOf("<", p);
    if (lt < 0) {
      out.push(html.slice(p));
      break;
    }
    out.push(html.slice(p, lt));
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4);
      if (end < 0) break;
      p = end + 3;
      continue;
    }
    const gt = html.indexOf(">", lt + 1);
    if (gt < 0) {
      // No tag can close any more: the rest is text.
      out.push(html.slice(lt));
      break;
    }
    const m = /^<\/?([a-zA-Z][a-zA-Z0-9]*)/.exec(html.slice(lt, Math.min(gt + 1, lt + 40)));
    const name = m ? m[1]!.toLowerCase() : "";
    p = gt + 1;
    if ((name === "script" || name === "style") && html[lt + 1] !== "/") {
      const end = closingTag(html, name, p);
      if (end < 0) break;
      const close = html.indexOf(">", end);
      p = close < 0 ? html.length : close + 1;
      continue;
    }
    out.push(BLOCK.has(name) ? "\n" : CELL.has(name) ? " " : "");
  }
  const text = decodeHTML(out.join(""));
  // Tidy the white space the markup leaves behind.
  return text
    .replace(/[ \t\r\f\v\u00a0]+/g, " ")
    .replace(/ ?\n[ \n]*/g, "\n")
    .trim();
}
