import { describe, expect, it } from "vitest";
import type { ChatEvent, TurnStats } from "../../gen/bindings";
import { AnswerView, describeStats, sentences } from "../src/answer";
import { Announcer } from "../src/announcer";

const stats = (finish: TurnStats["finish"]): TurnStats => ({
  prompt_tokens: 300, reused_tokens: 280, prefilled_tokens: 20, generated_tokens: 12, dropped_turns: 0,
  ttft_ms: 120, prefill_ms: 80, prefill_tok_s: 250, decode_ms: 240, decode_tok_s: 50, drafted_tokens: 0, accepted_tokens: 0, finish,
});

function setup() {
  const announcer = new Announcer();
  const live = announcer.element;
  const frames: (() => void)[] = [];
  const view = new AnswerView(announcer, (cb) => frames.push(cb));
  const flush = () => frames.splice(0).forEach((f) => f());
  return { live, view, flush };
}

const token = (data: string): ChatEvent => ({ event: "token", data });

describe("an answer as it streams", () => {
  it("grows with each frame and keeps finished paragraphs as they were rendered", () => {
    const { view, flush } = setup();
    view.apply(token("First paragraph."));
    expect(view.element.textContent).toBe("");
    flush();
    expect(view.element.textContent).toContain("First paragraph.");
    view.apply(token("\n\nSecond"));
    flush();
    const firstBlock = view.element.firstElementChild?.firstElementChild;
    expect(firstBlock?.textContent).toContain("First paragraph.");
    view.apply(token(" grows"));
    view.apply(token(" on."));
    flush();
    // The finished paragraph's element is the same node: appended to, not re-rendered.
    expect(view.element.firstElementChild?.firstElementChild).toBe(firstBlock);
    expect(view.element.textContent).toContain("Second grows on.");
    expect(view.raw).toBe("First paragraph.\n\nSecond grows on.");
  });

  it("ends with done, stopped or error, and ignores anything after the end", () => {
    let s = setup();
    s.view.apply(token("Hi."));
    expect(s.view.apply({ event: "done", data: stats("stop") })).toBe(true);
    expect(s.view.ended?.kind).toBe("done");
    expect(s.view.apply(token(" more"))).toBe(true);
    expect(s.view.raw).toBe("Hi.");
    s = setup();
    s.view.apply(token("Partial"));
    s.view.apply({ event: "done", data: stats("cancelled") });
    expect(s.view.ended?.kind).toBe("stopped");
    expect(s.view.element.textContent).toContain("Partial");
    s = setup();
    s.view.apply({ event: "error", data: { code: "llm.inference", message: "inference failed" } });
    expect(s.view.ended).toEqual({ kind: "error", error: { code: "llm.inference", message: "inference failed" } });
  });

  it("announces whole sentences to screen readers, not every token", () => {
    const { live, view, flush } = setup();
    for (const t of ["Your ", "LDL ", "is ", "high", "."]) view.apply(token(t));
    flush();
    view.apply(token(" It is"));
    flush();
    expect(Array.from(live.children).map((c) => c.textContent)).toEqual(["Your LDL is high."]);
    view.apply({ event: "done", data: stats("stop") });
    expect(Array.from(live.children).map((c) => c.textContent)).toEqual(["Your LDL is high.", "It is"]);
  });

  it("counts dropped turns and describes the figures", () => {
    const { view } = setup();
    view.apply({ event: "trimmed", data: { dropped_turns: 2 } });
    expect(view.trimmed).toBe(2);
    expect(describeStats(stats("stop"))).toContain("280 of 300 prompt tokens reused");
  });
});

describe("sentence-sized pieces", () => {
  it("splits after end marks followed by a space and at line breaks, without markdown's marks", () => {
    expect(sentences("**LDL** is 160 mg/dL. That is high! Why?\n\n- Eat less fat\n1. Walk")).toEqual(["LDL is 160 mg/dL.", "That is high!", "Why?", "Eat less fat", "Walk"]);
    expect(sentences("Potassium 6.8 mmol/L, e.g. high")).toEqual(["Potassium 6.8 mmol/L, e.g.", "high"]);
    expect(sentences("---\n\n")).toEqual([]);
  });
});
