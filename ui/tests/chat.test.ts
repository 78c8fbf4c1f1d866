import { beforeEach, describe, expect, it, vi } from "vitest";
import type { CheckIssue, TurnStats } from "../../gen/bindings";
import { ChatScreen, NOTICE, SAVED_RECORD_NAME, STATE_NOTES, TYPING_PAUSE_MS } from "../src/chat";
import { BackendError } from "../src/platform";
import { ChatState } from "../src/state";
import { ERROR_WORDS } from "../src/strings";
import { conversation, FakeBackend, labRow, message, modelsView, recordInfo, summary } from "./fake";

const stats: TurnStats = {
  prompt_tokens: 40, reused_tokens: 0, prefilled_tokens: 40, generated_tokens: 3, dropped_turns: 0,
  ttft_ms: 90, prefill_ms: 60, prefill_tok_s: 600, decode_ms: 60, decode_tok_s: 50, drafted_tokens: 0, accepted_tokens: 0, finish: "stop",
};
const tick = () => new Promise((r) => setTimeout(r, 0));

let backend: FakeBackend;
let screen: ChatScreen;
beforeEach(() => {
  document.body.innerHTML = "";
  backend = new FakeBackend(modelsView(true));
  screen = new ChatScreen(backend, { autoSend: true, voiceAvailable: true, schedule: (cb) => cb() }, () => {});
  document.body.append(screen.element);
});

describe("the chat screen", () => {
  it("hands the finished words to the model after a pause in typing, not on every key", async () => {
    vi.useFakeTimers();
    try {
      const type = (text: string) => {
        screen.input.value = text;
        screen.input.dispatchEvent(new Event("input"));
      };
      type("What");
      vi.advanceTimersByTime(TYPING_PAUSE_MS + 10);
      expect(backend.calls.filter((c) => c.startsWith("typing"))).toEqual([]); // no finished word yet
      type("What does");
      vi.advanceTimersByTime(TYPING_PAUSE_MS / 2);
      type("What does a high");
      vi.advanceTimersByTime(TYPING_PAUSE_MS + 10);
      expect(backend.calls.filter((c) => c.startsWith("typing"))).toEqual(["typing What does a high"]);
      // Sending right after typing: no late read-ahead of a question already sent.
      type("What does a high ferritin mean?");
      void screen.sendOrStop();
      vi.advanceTimersByTime(TYPING_PAUSE_MS * 2);
      expect(backend.calls.filter((c) => c.startsWith("typing"))).toEqual(["typing What does a high"]);
      expect(backend.calls).toContain("send What does a high ferritin mean?");
    } finally {
      vi.useRealTimers();
    }
  });

  it("always shows the medical notice and offers examples", () => {
    expect(screen.element.textContent).toContain(NOTICE);
    expect(screen.element.querySelectorAll(".suggestion").length).toBeGreaterThanOrEqual(3);
  });

  it("streams an answer into the conversation and swaps send for stop while it does", async () => {
    screen.input.value = "What is LDL?";
    const done = screen.sendOrStop();
    await tick();
    expect(backend.calls).toContain("send What is LDL?");
    expect(screen.sendButton.textContent).toBe("Stop");
    backend.chat?.({ event: "token", data: "LDL is " });
    backend.chat?.({ event: "token", data: "a cholesterol carrier." });
    expect(screen.element.querySelector(".msg.assistant")?.textContent).toContain("LDL is a cholesterol carrier.");
    // No double send while it streams.
    screen.input.value = "Another";
    screen.input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await tick();
    expect(backend.calls.filter((c) => c.startsWith("send"))).toHaveLength(1);
    backend.chat?.({ event: "done", data: stats });
    await done;
    expect(screen.sendButton.textContent).toBe("Send");
    expect(screen.element.querySelector(".answer-actions")?.textContent).toContain("Regenerate");
  });

  it("stops at once with the stop button and Escape", async () => {
    screen.input.value = "Tell me everything";
    void screen.sendOrStop();
    await tick();
    screen.sendButton.click();
    await tick();
    expect(backend.calls.filter((c) => c === "stop")).toHaveLength(1);
    backend.chat?.({ event: "done", data: { ...stats, finish: "cancelled" } });
    expect(screen.element.querySelector(".stopped")?.textContent).toBe("Stopped.");
    // Escape does nothing while nothing streams…
    screen.input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await tick();
    expect(backend.calls.filter((c) => c === "stop")).toHaveLength(1);
    // …and stops an answer in progress, once, when pressed in the input.
    void screen.ask("And now?");
    await tick();
    screen.input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await tick();
    expect(backend.calls.filter((c) => c === "stop")).toHaveLength(2);
    backend.chat?.({ event: "done", data: { ...stats, finish: "cancelled" } });
    expect(screen.element.querySelectorAll(".stopped")).toHaveLength(2);
  });

  it("offers Regenerate on the newest answer only, as the backend redoes the last exchange", async () => {
    const regenerates = () => Array.from(screen.element.querySelectorAll(".msg.assistant")).map((m) =>
      Array.from(m.querySelectorAll(".answer-actions button")).some((b) => b.textContent === "Regenerate"));
    void screen.ask("First?");
    await tick();
    backend.chat?.({ event: "token", data: "One." });
    backend.chat?.({ event: "done", data: stats });
    expect(regenerates()).toEqual([true]);
    void screen.ask("Second?");
    await tick();
    // A new exchange has started: the older answer can no longer be regenerated.
    expect(regenerates()).toEqual([false, false]);
    backend.chat?.({ event: "token", data: "Two." });
    backend.chat?.({ event: "done", data: stats });
    expect(regenerates()).toEqual([false, true]);
    // Copy and Details stay on every answer.
    const first = screen.element.querySelector(".msg.assistant .answer-actions")?.textContent;
    expect(first).toBe("CopyDetails");
    // Regenerating replaces the newest answer, which keeps the button.
    (Array.from(screen.element.querySelectorAll(".answer-actions button")).find((b) => b.textContent === "Regenerate") as HTMLButtonElement).click();
    await tick();
    expect(backend.calls).toContain("regenerate");
    backend.chat?.({ event: "token", data: "Two again." });
    backend.chat?.({ event: "done", data: stats });
    expect(regenerates()).toEqual([false, true]);
    expect(screen.element.querySelectorAll(".msg.assistant")[1].textContent).toContain("Two again.");
  });

  it("says when old messages were set aside and shows errors in plain words, the backend's message as details", async () => {
    void screen.ask("Q");
    await tick();
    backend.chat?.({ event: "trimmed", data: { dropped_turns: 2 } });
    backend.chat?.({ event: "token", data: "Partly" });
    backend.chat?.({ event: "error", data: { code: "llm.inference", message: "inference failed: out of memory" } });
    await tick();
    expect(screen.element.querySelector(".trimmed")?.textContent).toContain("oldest messages were set aside");
    const alert = screen.element.querySelector(".msg.failed [role=alert]") as HTMLElement;
    expect(alert.querySelector("p")?.textContent).toBe(ERROR_WORDS["llm.inference"]);
    expect(alert.querySelector("details .error-detail")?.textContent).toBe("inference failed: out of memory");
    expect(screen.sendButton.textContent).toBe("Send");
  });

  it("takes a refused question back into the field: the conversation is unchanged", async () => {
    void screen.ask("A very long question");
    await tick();
    backend.chat?.({ event: "error", data: { code: "llm.message_too_long", message: "the message takes 9000 tokens; 3000 fit" } });
    await tick();
    await tick();
    expect(screen.element.querySelector(".msg")).toBeNull();
    expect(screen.element.querySelector(".log .empty")).not.toBeNull();
    expect(screen.input.value).toBe("A very long question");
    const status = screen.element.querySelector("[role=status]") as HTMLElement;
    expect(status.firstChild?.textContent).toBe(ERROR_WORDS["llm.message_too_long"]);
    expect(status.querySelector(".error-detail")?.textContent).toBe("the message takes 9000 tokens; 3000 fit");
    expect(screen.state.answering).toBe(false);
    // A command that could not even start (busy): the same.
    backend.send = async () => { throw new BackendError("busy", "an answer is still being written"); };
    screen.setInput("");
    await screen.ask("Again?");
    await tick();
    expect(screen.element.querySelector(".msg")).toBeNull();
    expect(screen.input.value).toBe("Again?");
    expect(status.textContent).toBe(ERROR_WORDS.busy);
  });

  it("keeps the old answer when a regenerate is refused", async () => {
    void screen.ask("First?");
    await tick();
    backend.chat?.({ event: "token", data: "The first answer." });
    backend.chat?.({ event: "done", data: stats });
    (Array.from(screen.element.querySelectorAll(".answer-actions button")).find((b) => b.textContent === "Regenerate") as HTMLButtonElement).click();
    await tick();
    backend.chat?.({ event: "error", data: { code: "worker.stopped", message: "worker stopped" } });
    await tick();
    await tick();
    const answers = Array.from(screen.element.querySelectorAll(".msg.assistant"));
    expect(answers).toHaveLength(1);
    expect(answers[0].textContent).toContain("The first answer.");
    expect(answers[0].querySelector(".regenerate")).not.toBeNull();
    expect(screen.element.querySelector("[role=status]")?.textContent).toBe(ERROR_WORDS["worker.stopped"]);
  });

  it("names a record that is too long as such, not as a long message", async () => {
    backend.attachError = new BackendError("llm.record_too_long", "the attached record is too long for the conversation: it takes 9000 tokens");
    await screen.attach("labs.txt", "x".repeat(100));
    const status = screen.element.querySelector("[role=status]")?.textContent ?? "";
    expect(status).toContain("This record is too long");
    expect(status).not.toContain("message is too long");
    expect(screen.record).toBeNull();
  });

  it("pins an attached record with its three tasks", async () => {
    await screen.attach("labs.txt", "LDL 160 mg/dL");
    const card = screen.element.querySelector(".record-card");
    expect(card?.textContent).toContain("labs.txt");
    expect(card?.querySelectorAll("button")).toHaveLength(4);
    (Array.from(card!.querySelectorAll("button")).find((b) => b.textContent === "Explain results") as HTMLButtonElement).click();
    await tick();
    expect(backend.calls).toContain("send TASK explain");
  });

  it("shows the partial transcript while listening, then the spoken question and its answer", async () => {
    await screen.toggleMic();
    expect(backend.calls).toContain("voiceStart true");
    expect(screen.micButton.getAttribute("aria-pressed")).toBe("true");
    backend.voice?.({ event: "listening", data: { event: "level", data: { rms: 0.1, peak: 0.3 } } });
    expect((screen.element.querySelector(".meter") as HTMLElement).style.transform).toBe("scaleY(0.800)");
    backend.voice?.({ event: "listening", data: { event: "partial", data: { stable: "what is", tail: "a high" } } });
    expect(screen.input.value).toBe("what is a high");
    const transcript = { text: "What is a high ferritin?", segments: [], no_speech: false, audio_ms: 2000, elapsed_ms: 400 };
    backend.voice?.({ event: "heard", data: { transcript, final_ms: 420, answering: true } });
    expect(screen.input.value).toBe("");
    expect(screen.element.querySelector(".msg.user")?.textContent).toBe("What is a high ferritin?");
    backend.voice?.({ event: "answer", data: { event: "token", data: "Ferritin stores iron." } });
    backend.voice?.({ event: "answer", data: { event: "done", data: stats } });
    expect(screen.element.querySelector(".msg.assistant")?.textContent).toContain("Ferritin stores iron.");
  });

  it("says so when no speech was heard, and explains a denied microphone", async () => {
    await screen.toggleMic();
    backend.voice?.({ event: "no_speech" });
    expect(screen.element.querySelector("[role=status]")?.textContent).toBe("Didn't catch that — try again.");
    backend.voiceError = new BackendError("mic.permission_denied", "Murmur may not use the microphone: allow it in your system's privacy settings.");
    await screen.toggleMic();
    // In plain words, with the way to the settings; not the backend's message.
    expect(screen.element.querySelector("[role=status]")?.textContent).toBe(ERROR_WORDS["mic.permission_denied"]);
    expect(screen.element.querySelector("[role=status]")?.textContent).toContain("privacy settings");
  });
});

describe("a saved conversation in the chat", () => {
  const regenerates = () => Array.from(screen.element.querySelectorAll(".msg.assistant")).map((m) =>
    Array.from(m.querySelectorAll(".answer-actions button")).some((b) => b.textContent === "Regenerate"));

  it("shows its messages, answers from sanitised markdown, and how unfinished answers ended", async () => {
    // Something from before is replaced.
    void screen.ask("An older question");
    await tick();
    backend.chat?.({ event: "token", data: "Older answer." });
    backend.chat?.({ event: "done", data: stats });
    const hostile = 'Here: <script>window.pwned=1</script><img src=x onerror="window.pwned=2"> [x](javascript:alert(1)) **LDL** is high.';
    screen.showConversation(conversation(summary(4, "What is LDL?", 1), [
      message(1, "user", "What is LDL?"),
      message(2, "assistant", hostile, { stats }),
      message(3, "user", "And HDL?"),
      message(4, "assistant", "HDL is the", { state: "interrupted" }),
      message(5, "user", "Tell me everything"),
      message(6, "assistant", "Well,", { state: "cancelled" }),
      message(7, "user", "And triglycerides?"),
      message(8, "assistant", "", { state: "failed", error: "inference failed: out of memory" }),
    ]));
    expect(screen.element.querySelector(".log")?.textContent).not.toContain("Older answer.");
    expect(Array.from(screen.element.querySelectorAll(".msg.user")).map((m) => m.textContent))
      .toEqual(["What is LDL?", "And HDL?", "Tell me everything", "And triglycerides?"]);
    const answers = Array.from(screen.element.querySelectorAll<HTMLElement>(".msg.assistant"));
    expect(answers).toHaveLength(4);
    // Rendered as markdown, and nothing of the markup is live.
    expect(answers[0].querySelector(".answer-body strong")?.textContent).toBe("LDL");
    expect(answers[0].textContent).toContain("is high.");
    expect(screen.element.querySelectorAll(".log script, .log img, .log [onerror], .log a[href], .log iframe")).toHaveLength(0);
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
    // How each ended, said small and calmly (no alert for something long past).
    expect(answers[0].querySelector(".note, .stopped")).toBeNull();
    expect(answers[1].querySelector(".note")?.textContent).toBe("Interrupted — the app closed while this answer was being written.");
    expect(answers[1].textContent).toContain("HDL is the");
    expect(answers[2].querySelector(".stopped")?.textContent).toBe("Stopped.");
    // A failed answer in plain words; the saved reason only as a details line.
    expect(answers[3].querySelector(".note")?.textContent).toBe(STATE_NOTES.failedWithoutReason);
    expect(answers[3].querySelector("details .error-detail")?.textContent).toBe("inference failed: out of memory");
    expect(screen.element.querySelectorAll(".log [role=alert]")).toHaveLength(0);
    expect(STATE_NOTES.cancelled).toBe("Stopped.");
    // The newest answer failed: the model does not hold it, so nothing can be regenerated.
    expect(regenerates()).toEqual([false, false, false, false]);
    // Details of a saved answer that has figures.
    expect(answers[0].querySelector(".details")?.textContent).toContain("tokens/s");
    // No record: no card.
    expect(screen.element.querySelector(".record-card")).toBeNull();
    expect(screen.record).toBeNull();
  });

  it("offers Regenerate on the newest complete answer only, and shows the record's card", async () => {
    await screen.attach("labs.txt", "LDL 160 mg/dL");
    screen.showConversation(conversation(summary(5, "Explain", 1, { has_record: true }), [
      message(1, "user", "Explain my results"),
      message(2, "assistant", "Your LDL is high."),
      message(3, "user", "What now?"),
      message(4, "assistant", "Ask your clinician.", { stats }),
    ], "LDL 160 mg/dL (ref < 100)"));
    expect(regenerates()).toEqual([false, true]);
    const card = screen.element.querySelector(".record-card");
    expect(card?.textContent).toContain("Attached record");
    expect(card?.textContent).not.toContain("labs.txt");
    expect(screen.record).toEqual({ name: "Attached record" });
    // Regenerate redoes the last exchange, as for a live answer.
    (Array.from(screen.element.querySelectorAll(".answer-actions button")).find((b) => b.textContent === "Regenerate") as HTMLButtonElement).click();
    await tick();
    expect(backend.calls).toContain("regenerate");
    expect(screen.element.textContent).not.toContain("Ask your clinician.");
    backend.chat?.({ event: "token", data: "Talk to your doctor." });
    backend.chat?.({ event: "done", data: stats });
    expect(regenerates()).toEqual([false, true]);
    // A conversation without a record takes the card away.
    screen.showConversation(conversation(summary(6, "Hi", 1), [message(1, "user", "Hi")]));
    expect(screen.element.querySelector(".record-card")).toBeNull();
    expect(regenerates()).toEqual([]);
  });

  it("shows the examples for a conversation with no message yet, and empties on clearConversation", async () => {
    screen.showConversation(conversation(summary(8, "", 1, { has_record: true, messages: 0 }), [], "A record"));
    expect(screen.element.querySelector(".log .empty")).not.toBeNull();
    expect(screen.element.querySelector(".record-card")).not.toBeNull();
    screen.setInput("a draft");
    screen.clearConversation();
    expect(screen.element.querySelector(".record-card")).toBeNull();
    expect(screen.record).toBeNull();
    expect(screen.input.value).toBe("");
    expect(screen.element.querySelector(".msg")).toBeNull();
    expect(screen.element.querySelector(".log .empty")).not.toBeNull();
  });

  it("has a named Conversations button in its bar", () => {
    let opened = 0;
    const s = new ChatScreen(backend, { autoSend: true, voiceAvailable: true }, () => {}, () => { opened += 1; });
    const b = s.element.querySelector(".bar button[aria-label=Conversations]") as HTMLButtonElement;
    expect(b).toBe(s.conversationsButton);
    b.click();
    expect(opened).toBe(1);
  });
});

describe("the record card in the chat, and the check of answers", () => {
  const panel = () => [
    labRow(2, "Cholesterol, Total", "241", "mg/dL", "100-199", "above", { lab_flag: { text: "H", kind: "high" } }),
    labRow(3, "HDL Cholesterol", "42", "mg/dL", "> 40", "within"),
    labRow(4, "Potassium", "6.8", "mmol/L", "3.5-5.1", "above", { lab_flag: { text: "HH", kind: "critical_high" }, critical: true }),
  ];
  const flags = { items: ["Potassium 6.8 mmol/L (the lab marked it HH)"], lines: [4], advice: "Call your clinician today.", retest: "A new sample may be asked for." };
  const issue = (kind: CheckIssue["kind"], answer: string, text: string, explanation: string, from = 0): CheckIssue => {
    const start = answer.indexOf(text, from);
    return { kind, text, start, end: start + text.length, explanation };
  };
  /** Asks, streams `answer` in two pieces and ends it (done unless told otherwise). */
  async function answer(text: string, finish: TurnStats["finish"] = "stop") {
    void screen.ask("Explain my results");
    await tick();
    backend.chat?.({ event: "token", data: text.slice(0, 7) });
    backend.chat?.({ event: "token", data: text.slice(7) });
    backend.chat?.({ event: "done", data: { ...stats, finish } });
    await tick();
    await tick();
    return [...screen.element.querySelectorAll<HTMLElement>(".msg.assistant")].pop() as HTMLElement;
  }

  it("shows the attached record's results, red flags first, with the three tasks", async () => {
    backend.recordInfo = recordInfo(panel(), { red_flags: flags });
    await screen.attach("Pasted record", "LIPID PANEL\nCholesterol, Total   241  H  mg/dL   100-199\n");
    const card = screen.element.querySelector(".record-card") as HTMLElement;
    expect(card.querySelector(".red-flags[role=alert] li")?.textContent).toBe(flags.items[0]);
    expect(Array.from(card.querySelectorAll("td.status")).map((td) => td.textContent)).toEqual(["▲ Above", "✓ Within", "▲ Above Critical"]);
    expect(card.querySelector(".record-sub")?.textContent).toContain("LIPID PANEL");
    expect(screen.card?.table).toBe(card.querySelector("table"));
    (Array.from(card.querySelectorAll("button")).find((b) => b.textContent === "Summarise") as HTMLButtonElement).click();
    await tick();
    expect(backend.calls).toContain("send TASK summarise");
  });

  it("marks the words the check found and lists them with their reasons below the answer", async () => {
    backend.recordInfo = recordInfo(panel(), { red_flags: flags });
    await screen.attach("labs.txt", "LIPID PANEL\n…");
    const text = "Your potassium is **6.8** mmol/L, which is low. Your LDL is 160 mg/dL. You should take 20 mg of atorvastatin.";
    backend.check = {
      issues: [
        issue("unmatched_number", text, "160 mg/dL", "No LDL value is in your record."),
        issue("contradiction", text, "low", "Your record puts potassium above its range."),
        issue("dose", text, "take 20 mg of atorvastatin", "Doses are for your clinician to decide."),
      ],
      mentions: [{ row: 2, stated: "below", agrees: false }],
      numbers_checked: 2,
    };
    const bubble = await answer(text);
    expect(backend.calls).toContain(`check ${text}`);
    const marks = Array.from(bubble.querySelectorAll<HTMLElement>(".answer-body mark.check"));
    expect(marks.map((m) => [m.className.replace(" check-end", ""), m.textContent])).toEqual([
      ["check check-contradiction", "low"],
      ["check check-unmatched_number", "160 mg/dL"],
      ["check check-dose", "take 20 mg of atorvastatin"],
    ]);
    // "low" is the word, not the "low" inside another word; the answer's own text is unchanged.
    expect(bubble.querySelector(".answer-body")?.textContent?.trim()).toBe(text.replace(/\*\*/g, ""));
    // Each mark is described by its reason, which is listed below the answer with its label.
    const section = bubble.querySelector(".check-result") as HTMLElement;
    const heading = document.getElementById(section.getAttribute("aria-labelledby") ?? "");
    expect(heading?.textContent).toBe("Checked against your record");
    for (const m of marks) {
      const why = document.getElementById(m.getAttribute("aria-describedby") ?? "");
      expect(section.contains(why)).toBe(true);
      expect(m.title).toContain(why?.textContent ?? "-");
    }
    expect(Array.from(section.querySelectorAll("li")).map((li) => [li.querySelector(".check-label")?.textContent, li.querySelector(".check-why")?.textContent])).toEqual([
      ["Number not in your record", "No LDL value is in your record."],
      ["Doesn't match your record", "Your record puts potassium above its range."],
      ["Sounds like dosing advice", "Doses are for your clinician to decide."],
    ]);
    expect(section.querySelector(".check-issue-dose .check-words")?.textContent).toBe(" “take 20 mg of atorvastatin”");
    // Between the answer and its actions.
    expect(section.nextElementSibling?.classList.contains("answer-actions")).toBe(true);
    // The way to the table opens the folded card and moves there.
    screen.card?.setExpanded(false);
    (Array.from(section.querySelectorAll("button")).find((b) => b.textContent === "Show the results table") as HTMLButtonElement).click();
    expect(screen.card?.expanded).toBe(true);
    expect(document.activeElement).toBe(screen.card?.table);
  });

  it("marks words that markdown split, and the same occurrence as in the answer", async () => {
    await screen.attach("labs.txt", "LIPID PANEL\n…");
    const text = "HDL 42 mg/dL is fine.\n\nYour potassium of **6.8 mmol**/L and again 6.8 mmol/L here.";
    backend.check = { issues: [issue("unmatched_number", text, "6.8 mmol/L", "Not this one.", text.indexOf("again"))], mentions: [], numbers_checked: 3 };
    const bubble = await answer(text);
    const marks = Array.from(bubble.querySelectorAll(".answer-body mark.check"));
    expect(marks.map((m) => m.textContent)).toEqual(["6.8 mmol/L"]);
    expect(marks[0].previousSibling?.textContent).toBe("/L and again ");
    // A number is marked as a whole number, not inside another one.
    const numbers = "Your ferritin of 16.8 ng/mL is fine; potassium 6.8 is high.";
    backend.check = { issues: [issue("unmatched_number", numbers, "6.8", "Not in it.", numbers.indexOf("potassium"))], mentions: [], numbers_checked: 2 };
    const whole = await answer(numbers);
    const mark = whole.querySelector(".answer-body mark.check");
    expect(mark?.textContent).toBe("6.8");
    expect(mark?.previousSibling?.textContent).toBe("Your ferritin of 16.8 ng/mL is fine; potassium ");
    // Words across two elements: one mark in each, described alike.
    const split = "Your **potassium 6.8** mmol/L is high.";
    backend.check = { issues: [{ kind: "unmatched_number", text: "6.8** mmol/L", start: 0, end: 1, explanation: "Not in it." }], mentions: [], numbers_checked: 1 };
    const second = await answer(split);
    const parts = Array.from(second.querySelectorAll(".answer-body mark.check"));
    expect(parts.map((m) => m.textContent)).toEqual(["6.8", " mmol/L"]);
    expect(new Set(parts.map((m) => m.getAttribute("aria-describedby"))).size).toBe(1);
    expect(parts[0].parentElement?.tagName).toBe("STRONG");
  });

  it("keeps hostile words of an answer as text when it marks them", async () => {
    await screen.attach("labs.txt", "LIPID PANEL\n…");
    const text = "Take `<img src=x onerror=window.pwned=1>` 20 mg and <b>rest</b> now.";
    const hostile = "<img src=x onerror=window.pwned=1> 20 mg";
    backend.check = {
      issues: [{ kind: "dose", text: hostile, start: 6, end: 6 + hostile.length, explanation: "<script>window.pwned=2</script>Doses are for your clinician." }],
      mentions: [], numbers_checked: 0,
    };
    const bubble = await answer(text);
    const marks = Array.from(bubble.querySelectorAll(".answer-body mark.check"));
    expect(marks.map((m) => m.textContent).join("")).toBe(hostile);
    expect(bubble.querySelectorAll("img, script, [onerror]")).toHaveLength(0);
    expect(bubble.querySelector(".check-why")?.textContent).toBe("<script>window.pwned=2</script>Doses are for your clinician.");
    expect(bubble.querySelector(".check-words")?.textContent).toContain(hostile);
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it("says quietly how many numbers it found in the record, and nothing without a record", async () => {
    await screen.attach("labs.txt", "LIPID PANEL\n…");
    backend.check = { issues: [], mentions: [], numbers_checked: 3 };
    let bubble = await answer("Your HDL of 42 mg/dL and cholesterol of 241 mg/dL, potassium 6.8.");
    expect(bubble.querySelector(".check-ok")?.textContent).toBe("✓ 3 numbers checked against your record");
    expect(bubble.querySelector(".check-result, mark")).toBeNull();
    backend.check = { issues: [], mentions: [], numbers_checked: 0 };
    bubble = await answer("Ask your clinician.");
    expect(bubble.querySelector(".check-ok, .check-result")).toBeNull();
    // Without a record only phrases are checked; nothing found, nothing said.
    (Array.from(screen.element.querySelectorAll(".record-card button")).find((b) => b.textContent === "Remove") as HTMLButtonElement).click();
    await tick();
    backend.check = { issues: [], mentions: [], numbers_checked: 2 };
    bubble = await answer("LDL is often measured in mg/dL, 100 or 130.");
    expect(bubble.querySelector(".check-ok, .check-result")).toBeNull();
    // …and something found is said without naming a record, with no way to a table.
    const text = "You have diabetes.";
    backend.check = { issues: [issue("diagnosis", text, "You have diabetes", "Only your clinician can say this.")], mentions: [], numbers_checked: 0 };
    bubble = await answer(text);
    expect(bubble.querySelector(".check-head")?.textContent).toBe("A note on this answer");
    expect(bubble.querySelector(".check-label")?.textContent).toBe("Sounds like a diagnosis");
    expect(bubble.querySelector(".show-table")).toBeNull();
  });

  it("does not check a stopped or failed answer, and shows nothing when the check fails", async () => {
    await screen.attach("labs.txt", "LIPID PANEL\n…");
    backend.check = { issues: [issue("dose", "Take 20 mg daily.", "20 mg", "Doses are for your clinician.")], mentions: [], numbers_checked: 1 };
    const stopped = await answer("Take 20 mg daily.", "cancelled");
    expect(stopped.querySelector(".stopped")).not.toBeNull();
    expect(backend.calls.filter((c) => c.startsWith("check"))).toHaveLength(0);
    expect(stopped.querySelector("mark, .check-result, .check-ok")).toBeNull();
    void screen.ask("Again?");
    await tick();
    backend.chat?.({ event: "token", data: "Take 20 mg" });
    backend.chat?.({ event: "error", data: { code: "llm.inference", message: "inference failed" } });
    await tick();
    expect(backend.calls.filter((c) => c.startsWith("check"))).toHaveLength(0);
    // A check that fails: logged, not shown.
    backend.checkError = new BackendError("worker.stopped", "the worker stopped");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const done = await answer("Take 20 mg daily.");
    expect(backend.calls.filter((c) => c.startsWith("check"))).toHaveLength(1);
    expect(done.querySelector("mark, .check-result, .check-ok")).toBeNull();
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });

  it("checks a regenerated answer too", async () => {
    await screen.attach("labs.txt", "LIPID PANEL\n…");
    backend.check = { issues: [], mentions: [], numbers_checked: 1 };
    await answer("HDL 42 mg/dL.");
    (Array.from(screen.element.querySelectorAll(".answer-actions button")).find((b) => b.textContent === "Regenerate") as HTMLButtonElement).click();
    await tick();
    const text = "Your HDL is 52 mg/dL.";
    backend.check = { issues: [issue("unmatched_number", text, "52 mg/dL", "Your record says 42 mg/dL.")], mentions: [], numbers_checked: 1 };
    backend.chat?.({ event: "token", data: text });
    backend.chat?.({ event: "done", data: stats });
    await tick();
    await tick();
    expect(backend.calls.filter((c) => c.startsWith("check"))).toEqual(["check HDL 42 mg/dL.", `check ${text}`]);
    expect(screen.element.querySelectorAll(".msg.assistant")).toHaveLength(1);
    expect(screen.element.querySelector(".msg.assistant mark.check")?.textContent).toBe("52 mg/dL");
  });

  it("shows a reopened conversation's record whole, from what the backend read of it", async () => {
    backend.currentRecord = recordInfo(panel(), { red_flags: flags, unread: [{ line: 6, text: "See note", reason: "no value" }] });
    screen.showConversation(conversation(summary(5, "Explain", 1, { has_record: true }), [
      message(1, "user", "Explain my results"),
      message(2, "assistant", "Your potassium is high."),
    ], "LIPID PANEL\nCholesterol, Total   241  H  mg/dL   100-199\n"));
    // At once: its name and tasks; then its results.
    expect(screen.element.querySelector(".record-card")?.textContent).toContain(SAVED_RECORD_NAME);
    await tick();
    expect(backend.calls).toContain("recordCurrent");
    const card = screen.element.querySelector(".record-card") as HTMLElement;
    expect(card.querySelector(".record-sub")?.textContent).toBe("LIPID PANEL · 3 results · 2 outside their range");
    expect(Array.from(card.querySelectorAll("td.status")).map((td) => td.textContent)).toEqual(["▲ Above", "✓ Within", "▲ Above Critical"]);
    // The banner is there, but not announced as news.
    expect(card.querySelector(".red-flags li")?.textContent).toBe(flags.items[0]);
    expect(card.querySelector(".red-flags")?.hasAttribute("role")).toBe(false);
    expect(card.querySelector("details.unread summary")?.textContent).toBe("1 line could not be read");
    expect(Array.from(card.querySelectorAll(".tasks button")).map((b) => b.textContent)).toEqual(["Explain results", "Summarise", "Prepare questions for my visit"]);
    expect(screen.record).toEqual({ name: SAVED_RECORD_NAME });
  });

  it("folds the card once when the conversation starts, leaving the red flags and the tasks", async () => {
    backend.recordInfo = recordInfo(panel(), { red_flags: flags });
    await screen.attach("labs.txt", "LIPID PANEL\n…");
    const card = () => screen.element.querySelector(".record-card") as HTMLElement;
    const toggle = () => card().querySelector(".record-toggle") as HTMLButtonElement;
    expect(screen.card?.expanded).toBe(true);
    await answer("Your potassium is high.");
    expect(screen.card?.expanded).toBe(false);
    expect(card().classList.contains("compact")).toBe(true);
    expect(toggle().getAttribute("aria-expanded")).toBe("false");
    expect(card().querySelector(".red-flags li")?.textContent).toBe(flags.items[0]);
    expect(card().querySelectorAll(".tasks button")).toHaveLength(3);
    // Opened again by the person, it stays open.
    toggle().click();
    await answer("Ask your clinician.");
    expect(screen.card?.expanded).toBe(true);
    // A reopened conversation with messages shows its card folded.
    backend.currentRecord = recordInfo(panel(), { red_flags: flags });
    screen.showConversation(conversation(summary(5, "Explain", 1, { has_record: true }), [message(1, "user", "Hi"), message(2, "assistant", "Hello.")], "LIPID PANEL\n"));
    await tick();
    expect(screen.card?.table).not.toBeNull();
    expect(screen.card?.expanded).toBe(false);
  });

  it("keeps the plain card when the record cannot be read back, and drops a late reading", async () => {
    backend.currentRecordError = new BackendError("worker.stopped", "the worker stopped");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    screen.showConversation(conversation(summary(5, "Explain", 1, { has_record: true }), [message(1, "user", "Hi")], "A record"));
    await tick();
    expect(screen.element.querySelector(".record-card")?.textContent).toContain(SAVED_RECORD_NAME);
    expect(screen.element.querySelector(".record-card table")).toBeNull();
    warn.mockRestore();
    // A reading that comes after another conversation was opened is not shown.
    backend.currentRecordError = null;
    backend.currentRecord = recordInfo(panel());
    screen.showConversation(conversation(summary(5, "Explain", 1, { has_record: true }), [message(1, "user", "Hi")], "A record"));
    screen.showConversation(conversation(summary(6, "Hi", 1), [message(1, "user", "Hi")]));
    await tick();
    expect(screen.element.querySelector(".record-card")).toBeNull();
  });
});

describe("screen readers", () => {
  const liveRegion = () => screen.element.querySelector(".visually-hidden[aria-live=polite]") as HTMLElement;

  it("the conversation log is not a live region: a re-rendered paragraph is not read again", () => {
    const log = screen.element.querySelector(".log") as HTMLElement;
    // role=log is a polite live region by itself: each frame's re-rendered paragraph (and a
    // reopened conversation, whole) would be read out again.
    expect(log.getAttribute("role")).not.toBe("log");
    expect(["off", null]).toContain(log.getAttribute("aria-live"));
    expect(log.getAttribute("aria-label")).toBe("Conversation");
  });

  it("announces an answer in sentence-sized pieces, even when many sentences arrive at once", async () => {
    void screen.ask("Explain");
    await tick();
    // Three sentences in one frame (a busy or hidden window renders them together).
    backend.chat?.({ event: "token", data: "Your LDL is 160 mg/dL. That is above the range! Ask about it: " });
    backend.chat?.({ event: "token", data: "your potassium is 6." });
    expect(Array.from(liveRegion().children).map((p) => p.textContent)).toEqual(["Your LDL is 160 mg/dL.", "That is above the range!", "Ask about it:"]);
    // "6." of "6.8" is not the end of a sentence.
    backend.chat?.({ event: "token", data: "8 mmol/L.\n\n- Drink water\n- Rest" });
    expect(Array.from(liveRegion().children).map((p) => p.textContent).slice(3)).toEqual(["your potassium is 6.8 mmol/L.", "Drink water"]);
    backend.chat?.({ event: "done", data: stats });
    expect(liveRegion().lastElementChild?.textContent).toBe("Rest");
    for (const p of Array.from(liveRegion().children)) expect(p.textContent?.length ?? 0).toBeLessThan(40);
    // A reopened conversation is not read out.
    screen.showConversation(conversation(summary(4, "Q", 1), [message(1, "user", "Q"), message(2, "assistant", "A long saved answer. With sentences.")]));
    expect(liveRegion().childElementCount).toBe(0);
  });
});

describe("the voice button", () => {
  const press = (type: string) => screen.micButton.dispatchEvent(new Event(type, { bubbles: true, cancelable: true }));

  it("ends listening when the system takes the press away (pointercancel): the mic is never left live", async () => {
    press("pointerdown");
    await tick();
    expect(backend.calls).toContain("voiceStart true");
    expect(screen.micButton.getAttribute("aria-pressed")).toBe("true");
    press("pointercancel");
    await tick();
    expect(backend.calls).toContain("voiceCancel");
    backend.voice?.({ event: "error", data: { code: "cancelled", message: "cancelled" } });
    expect(screen.micButton.getAttribute("aria-pressed")).toBe("false");
    expect(screen.element.querySelector("[role=status]")?.textContent).toBe("");
  });

  it("a release before the microphone has opened still ends listening once it has", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      let open: () => void = () => {};
      const started = new Promise<void>((r) => (open = r));
      const real = backend.voiceStart.bind(backend);
      backend.voiceStart = async (answer, onEvent) => { await started; return real(answer, onEvent); };
      press("pointerdown");
      vi.setSystemTime(Date.now() + 1000);
      press("pointerup");
      await tick();
      expect(backend.calls.filter((c) => c.startsWith("voice"))).toEqual([]);
      open();
      await tick();
      await tick();
      expect(backend.calls.filter((c) => c.startsWith("voice"))).toEqual(["voiceStart true", "voiceStop"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("follows the speech model's state: off while it loads or failed, on once it is loaded", () => {
    const state = new ChatState({ llm: "loaded", asr: "loading" });
    const s = new ChatScreen(backend, { autoSend: true, state }, () => {});
    expect(s.micButton.disabled).toBe(true);
    state.applyModelState({ state: "loaded", role: "asr", id: "whisper" });
    expect(s.micButton.disabled).toBe(false);
    state.applyModelState({ state: "failed", role: "asr", error: { code: "model.damaged", message: "bad header" } });
    expect(s.micButton.disabled).toBe(true);
    // The answer model loading: no sending, and the status line says why.
    state.applyModelState({ state: "loading", role: "llm", id: "qwen" });
    expect(s.sendButton.disabled).toBe(true);
    expect(s.element.querySelector("[role=status]")?.textContent).toContain("Getting ready");
    state.applyModelState({ state: "loaded", role: "llm", id: "qwen" });
    expect(s.sendButton.disabled).toBe(false);
    expect(s.element.querySelector("[role=status]")?.textContent).toBe("");
    s.dispose();
    expect(state.listenerCount).toBe(0);
  });
});
