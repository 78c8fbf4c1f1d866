// The app as a whole (main.ts) over the fake backend: the screens in turn, what they listen to,
// and the conversation across a model loaded again.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { start } from "../src/main";
import { conversation, FakeBackend, message, modelsView, summary } from "./fake";

const tick = () => new Promise((r) => setTimeout(r, 0));
const settle = async () => { for (let i = 0; i < 6; i++) await tick(); };
const button = (root: ParentNode, text: string) =>
  Array.from(root.querySelectorAll("button")).find((b) => b.textContent === text || b.getAttribute("aria-label") === text) as HTMLButtonElement;

/** Counts the listeners registered on `target` and not removed since. */
function track(target: EventTarget) {
  const active = new Map<string, Set<unknown>>();
  const add = target.addEventListener.bind(target);
  const remove = target.removeEventListener.bind(target);
  vi.spyOn(target, "addEventListener").mockImplementation((type: string, l: unknown, o?: unknown) => {
    if (!active.has(type)) active.set(type, new Set());
    active.get(type)?.add(l);
    add(type, l as EventListener, o as AddEventListenerOptions);
  });
  vi.spyOn(target, "removeEventListener").mockImplementation((type: string, l: unknown, o?: unknown) => {
    active.get(type)?.delete(l);
    remove(type, l as EventListener, o as EventListenerOptions);
  });
  // jsdom registers mouseover/mouseout on the document itself (not the app's).
  return () => Array.from(active.entries()).filter(([type]) => !/^mouse(over|out)$/.test(type)).reduce((n, [, s]) => n + s.size, 0);
}

let root: HTMLElement;
let backend: FakeBackend;
beforeEach(() => {
  document.body.innerHTML = "";
  root = document.createElement("div");
  document.body.append(root);
  backend = new FakeBackend({ ...modelsView(true), loaded_llm: "qwen", loaded_asr: "whisper" });
});
afterEach(() => vi.restoreAllMocks());

describe("the app's listeners", () => {
  it("does not pile up listeners on the document, the window or model-state as screens change", async () => {
    const onDocument = track(document);
    const onWindow = track(window);
    const app = await start(root, backend);
    await settle();
    const following = app?.state.listenerCount;
    const shown = { document: onDocument(), window: onWindow(), modelState: backend.modelStateListeners.size };
    expect(shown.modelState).toBe(1);
    // Settings and back, the conversations and back, twice; then settings that load the model again.
    for (let i = 0; i < 2; i++) {
      button(root, "Settings").click();
      await settle();
      // Under the settings the chat listens to nothing outside itself.
      expect(onDocument()).toBeLessThan(shown.document);
      button(root, "Back").click();
      await settle();
      button(root, "Conversations").click();
      await settle();
      button(root, "Back to the chat").click();
      await settle();
    }
    backend.reloadOnSave = true;
    button(root, "Settings").click();
    await settle();
    button(root, "Save").click();
    await settle();
    expect(root.querySelector(".chat")).not.toBeNull();
    expect({ document: onDocument(), window: onWindow(), modelState: backend.modelStateListeners.size }).toEqual(shown);
    // Ctrl+M acts once (one chat listens).
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "m", ctrlKey: true, bubbles: true }));
    await tick();
    expect(backend.calls.filter((c) => c.startsWith("voiceStart"))).toHaveLength(1);
    expect(app.state.listenerCount).toBe(following);
    app.dispose();
    expect(onDocument()).toBe(0);
    expect(onWindow()).toBe(0);
    expect(backend.modelStateListeners.size).toBe(0);
    expect(app.state.listenerCount).toBe(0);
  });

  it("follows model-state in the chat: the mic waits for the speech model", async () => {
    backend.models = { ...backend.models, loaded_asr: null };
    const app = await start(root, backend);
    await settle();
    const mic = root.querySelector("button.mic") as HTMLButtonElement;
    expect(mic.disabled).toBe(true);
    backend.emitModelState({ state: "loaded", role: "asr", id: "whisper" });
    expect(mic.disabled).toBe(false);
    app.dispose();
  });
});

describe("settings that load the model again", () => {
  it("keep the open conversation on screen (shown again from the backend), not an empty chat", async () => {
    const s = summary(7, "What is HbA1c?", 1, { has_record: true });
    backend.conversations = [s];
    backend.views.set(7, conversation(s, [message(1, "user", "What is HbA1c?"), message(2, "assistant", "It is average blood sugar.")], "HbA1c 6.1 %"));
    const app = await start(root, backend);
    await settle();
    button(root, "Conversations").click();
    await settle();
    (root.querySelector(".conv-open") as HTMLButtonElement).click();
    await settle();
    expect(root.querySelector(".msg.user")?.textContent).toBe("What is HbA1c?");
    backend.reloadOnSave = true;
    backend.calls = [];
    button(root, "Settings").click();
    await settle();
    button(root, "Save").click();
    await settle();
    expect(backend.calls).toEqual(expect.arrayContaining(["setSettings", "loadModels", "open 7"]));
    expect(backend.calls.indexOf("open 7")).toBeGreaterThan(backend.calls.indexOf("loadModels"));
    expect(Array.from(root.querySelectorAll(".msg")).map((m) => m.textContent)).toEqual(["What is HbA1c?", expect.stringContaining("It is average blood sugar.")]);
    expect(root.querySelector(".record-card")?.textContent).toContain("Attached record");
    expect(document.activeElement).toBe(root.querySelector("textarea"));
    app.dispose();
  });

  it("show a conversation that is not saved (no history) from what the model holds", async () => {
    const app = await start(root, backend);
    await settle();
    backend.current = null;
    backend.session = { ...backend.session, turns: [{ user: "Is 6.8 high?", assistant: "Yes, for potassium." }] };
    backend.reloadOnSave = true;
    button(root, "Settings").click();
    await settle();
    button(root, "Save").click();
    await settle();
    expect(backend.calls).toContain("snapshot");
    expect(Array.from(root.querySelectorAll(".msg")).map((m) => m.querySelector("p")?.textContent)).toEqual(["Is 6.8 high?", "Yes, for potassium."]);
    app.dispose();
  });
});
