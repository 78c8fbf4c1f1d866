// Model output is untrusted: it is rendered from markdown, then sanitised with DOMPurify to a
// small allow-list. No script, no event handlers, no styles, no images (nothing remote is ever
// fetched), and links only as inert text with their https address shown.
import DOMPurify from "dompurify";
import { Marked } from "marked";

const marked = new Marked({ gfm: true, breaks: false, async: false });

const ALLOWED_TAGS = [
  "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
  "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr", "del", "span", "a",
];
const ALLOWED_ATTR = ["href", "title", "align", "start"];

let hooked = false;
function hook(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName === "A") {
      const href = node.getAttribute("href") ?? "";
      node.removeAttribute("href");
      // Only https addresses are shown; nothing is opened from an answer.
      if (/^https:\/\//i.test(href)) node.setAttribute("title", href);
      node.setAttribute("role", "link");
      node.setAttribute("aria-disabled", "true");
    }
  });
}

/** Markdown → sanitised HTML (a string safe to assign to innerHTML). */
export function renderMarkdown(text: string): string {
  hook();
  const html = marked.parse(text) as string;
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOWED_URI_REGEXP: /^https:\/\//i,
  });
}

/** Splits an answer into finished blocks (before the last blank line) and the live tail. */
export function splitBlocks(text: string): { done: string; tail: string } {
  // A blank line inside a code fence does not end a block.
  let fence = false;
  let cut = 0;
  let i = 0;
  for (const line of text.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    i += line.length + 1;
    if (!fence && line.trim() === "" && i <= text.length) cut = i;
  }
  return { done: text.slice(0, cut), tail: text.slice(cut) };
}
