import { describe, expect, it } from "vitest";
import { renderMarkdown, splitBlocks } from "../src/markdown";

function dom(html: string): HTMLElement {
  const d = document.createElement("div");
  d.innerHTML = html;
  return d;
}

const HOSTILE = [
  "<script>window.pwned = 1</script>",
  "<img src=x onerror=\"window.pwned=1\">",
  "![tracker](https://evil.example/pixel.png)",
  "[click](javascript:window.pwned=1)",
  "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "<a href=\"https://ok.example\" onclick=\"window.pwned=1\">x</a>",
  "<iframe src=\"https://evil.example\"></iframe>",
  "<svg><script>window.pwned=1</script></svg>",
  "<style>body{display:none}</style>",
  "<div style=\"position:fixed;inset:0\">overlay</div>",
  "<form action=\"https://evil.example\"><input name=a></form>",
  "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
  "[a](  JaVaScRiPt:alert(1))",
  "<object data=\"x.swf\"></object><embed src=\"x\">",
  "<details open ontoggle=\"window.pwned=1\">",
];

describe("sanitising model output", () => {
  it("renders hostile markdown inert", () => {
    for (const input of HOSTILE) {
      const d = dom(renderMarkdown(input));
      expect(d.querySelector("script, img, iframe, svg, style, form, input, object, embed, math, details"), input).toBeNull();
      for (const el of Array.from(d.querySelectorAll("*"))) {
        for (const attr of Array.from(el.attributes)) {
          expect(attr.name.startsWith("on"), `${input}: ${attr.name}`).toBe(false);
          expect(attr.name, input).not.toBe("style");
          expect(attr.value.toLowerCase(), input).not.toMatch(/javascript:|data:/);
        }
      }
      expect(d.querySelector("a[href]"), input).toBeNull();
    }
  });

  it("keeps https addresses visible without making them navigable", () => {
    const d = dom(renderMarkdown("See [the guideline](https://example.org/guide)."));
    const a = d.querySelector("a");
    expect(a?.getAttribute("href")).toBeNull();
    expect(a?.getAttribute("title")).toBe("https://example.org/guide");
    expect(d.textContent).toContain("the guideline");
  });

  it("renders ordinary answers", () => {
    const d = dom(renderMarkdown("**LDL** is:\n\n- a lipoprotein\n- measured in mg/dL\n\n| Test | Value |\n|---|---|\n| LDL | 160 |"));
    expect(d.querySelector("strong")?.textContent).toBe("LDL");
    expect(d.querySelectorAll("li")).toHaveLength(2);
    expect(d.querySelector("td")?.textContent).toBe("LDL");
  });

  it("splits finished paragraphs from the one being written, never inside code", () => {
    expect(splitBlocks("One.\n\nTwo is still")).toEqual({ done: "One.\n\n", tail: "Two is still" });
    expect(splitBlocks("no break yet")).toEqual({ done: "", tail: "no break yet" });
    const code = "```\na\n\nb";
    expect(splitBlocks(code).done).toBe("");
  });
});
