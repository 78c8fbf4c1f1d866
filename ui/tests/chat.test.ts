import { beforeEach, describe, expect, it } from "vitest";
import type { TurnStats } from "../../gen/bindings";
import { ChatScreen, NOTICE, STATE_NOTES } from "../src/chat";
import { BackendError } from "../src/platform";
import { conversation, FakeBackend, message, modelsView, summary } from "./fake";

const stats: TurnStats = {
  prompt_tokens: 40, reused_tokens: 0, prefilled_tokens: 40, generated_tokens: 3, dropped_turns: 0,
  ttft_ms: 90, prefill_ms: 60, prefill_tok_s: 600, decode_ms: 60, decode_tok_s: 50, finish: "stop",
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

  it("says when old messages were set aside and shows errors as such", async () => {
    void screen.ask("Q");
    await tick();
    backend.chat?.({ event: "trimmed", data: { dropped_turns: 2 } });
    backend.chat?.({ event: "error", data: { code: "llm.inference", message: "inference failed: out of memory" } });
    expect(screen.element.querySelector(".trimmed")?.textContent).toContain("oldest messages were set aside");
    expect(screen.element.querySelector(".msg.failed [role=alert]")?.textContent).toContain("out of memory");
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
    expect(screen.element.querySelector("[role=status]")?.textContent).toContain("allow it in your system's privacy settings");
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
    expect(answers[3].querySelector(".note")?.textContent).toBe("inference failed: out of memory");
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
