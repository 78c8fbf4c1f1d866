import { beforeAll, describe, expect, it } from "vitest";

// Read as a file: Vitest blanks CSS imports (even ?raw).
let css = "";
beforeAll(async () => {
  const fs = (await import(/* @vite-ignore */ `node:${"fs"}`)) as { readFileSync(path: string, encoding: "utf8"): string };
  css = fs.readFileSync(decodeURIComponent(import.meta.url.replace(/^file:\/\//, "").replace(/tests\/[^/]+$/, "src/styles.css")), "utf8");
});

const rules = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "");

describe("the style sheet", () => {
  it("applies the bottom safe-area inset once", () => {
    expect(rules(css).match(/env\(safe-area-inset-bottom\)/g)).toHaveLength(1);
  });

  it("never makes a touch target smaller than 44 px", () => {
    const small = Array.from(rules(css).matchAll(/([^{}]+)\{([^}]*)\}/g))
      .filter(([, selector]) => /button|input|select|summary|label|textarea|\.mic|\.send|\.suggestion/.test(selector))
      .filter(([, , body]) => /(?:^|;)\s*(?:min-)?height\s*:\s*(?:[0-3]?\d|4[0-3])(?:\.\d+)?px/.test(body));
    expect(small.map(([, selector]) => selector.trim())).toEqual([]);
  });
});
