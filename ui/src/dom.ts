// A tiny element builder: text is always set as text (never parsed as HTML).
type Attrs = Record<string, string | boolean | number | undefined | null | EventListener>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c != null && c !== false) el.append(c);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

const SVG = "http://www.w3.org/2000/svg";

/** A small inline icon (paths in a 24×24 box), hidden from screen readers. */
export function icon(...paths: string[]): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "22");
  svg.setAttribute("height", "22");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  for (const d of paths) {
    const p = document.createElementNS(SVG, "path");
    p.setAttribute("d", d);
    svg.append(p);
  }
  return svg;
}

export const MIC_ICON = ["M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3z", "M19 11a7 7 0 0 1-14 0M12 18v3M8 21h8"];
/** Past conversations (a clock turning back). */
export const HISTORY_ICON = ["M3 12a9 9 0 1 0 2.64-6.36L3 8.3", "M3 3.5v4.8h4.8", "M12 7.5V12l3 2"];
/** "More": three dots. */
export const MORE_ICON = ["M5 12h.01", "M12 12h.01", "M19 12h.01"];
/** "For your information": a circled i. */
export const INFO_ICON = ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 16v-5", "M12 8h.01"];
