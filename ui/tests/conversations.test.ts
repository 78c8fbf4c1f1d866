import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ConversationView } from "../../gen/bindings";
import { ConversationsPanel, DELETE_TEXT, EMPTY_TEXT, exportName, type ConversationsHost } from "../src/conversations";
import { start } from "../src/main";
import { BackendError } from "../src/platform";
import { ERROR_WORDS } from "../src/strings";
import { conversation, FakeBackend, message, modelsView, summary } from "./fake";

const tick = () => new Promise((r) => setTimeout(r, 0));
const settle = async () => { for (let i = 0; i < 5; i++) await tick(); };

// Thursday 1 October 2026, 15:00 (local time).
const NOW = new Date(2026, 9, 1, 15, 0).getTime();

let backend: FakeBackend;
let host: ConversationsHost & { log: string[]; views: ConversationView[] };
let panel: ConversationsPanel;

function makeHost() {
  const log: string[] = [];
  const views: ConversationView[] = [];
  return {
    log,
    views,
    opened: (v: ConversationView) => { log.push("opened"); views.push(v); },
    newConversation: async () => { log.push("new"); },
    deletedOpen: () => { log.push("deletedOpen"); },
    close: () => { log.push("close"); },
  };
}

const rows = () => Array.from(panel.element.querySelectorAll<HTMLElement>(".conv-list li"));
const titles = () => rows().map((r) => r.querySelector(".conv-title")?.textContent);
const button = (root: ParentNode, text: string) => {
  const b = Array.from(root.querySelectorAll("button")).find((x) => x.textContent === text);
  if (!b) throw new Error(`no button ${text}`);
  return b as HTMLButtonElement;
};
const row = (id: number) => panel.element.querySelector<HTMLElement>(`.conv-list li[data-id="${id}"]`) as HTMLElement;
const alert = () => panel.element.querySelector("[role=alert]")?.textContent ?? "";
const dialog = () => panel.element.querySelector<HTMLElement>("[role=alertdialog]");

beforeEach(async () => {
  document.body.innerHTML = "";
  backend = new FakeBackend(modelsView(true));
  backend.conversations = [
    summary(3, "What does a high LDL cholesterol mean?", NOW - 60 * 60 * 1000, { has_record: true, messages: 4 }),
    summary(2, "", NOW - 26 * 60 * 60 * 1000, { messages: 0, has_record: true }),
    summary(1, "Is a ferritin of 12 low?", new Date(2025, 2, 14, 9, 30).getTime(), { messages: 1 }),
  ];
  backend.current = 3;
  host = makeHost();
  panel = new ConversationsPanel(backend, host, { now: () => NOW, locale: "en-US" });
  document.body.append(panel.element);
  await panel.open();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("the conversations panel", () => {
  it("lists the saved conversations newest first, titled, dated, with their record and size", () => {
    expect(backend.calls).toEqual(["list null"]);
    expect(titles()).toEqual(["What does a high LDL cholesterol mean?", "Untitled", "Is a ferritin of 12 low?"]);
    const meta = rows().map((r) => r.querySelector(".conv-meta")?.textContent);
    expect(meta[0]).toMatch(/^2:00\s?PM · 4 messages/);
    expect(meta[0]).toContain("Record");
    expect(meta[1]).toBe("Yesterday · 0 messagesRecord");
    expect(meta[2]).toBe("Mar 14, 2025 · 1 message");
    // The conversation open in the chat is marked, for screen readers too.
    const current = panel.element.querySelectorAll("[aria-current=true]");
    expect(current).toHaveLength(1);
    expect(current[0].closest("li")?.dataset.id).toBe("3");
    expect(current[0].textContent).toContain("Open now");
    // Every button has a name.
    for (const b of Array.from(panel.element.querySelectorAll("button"))) {
      expect(b.getAttribute("aria-label") || b.textContent?.trim()).toBeTruthy();
    }
  });

  it("says that nothing is saved yet, and that it stays on the device", async () => {
    backend.conversations = [];
    await panel.refresh();
    expect(rows()).toHaveLength(0);
    expect(panel.element.querySelector(".conv-empty")?.textContent).toBe(EMPTY_TEXT);
  });

  it("searches as the person types, once typing pauses", async () => {
    vi.useFakeTimers();
    const search = panel.element.querySelector("input[type=search]") as HTMLInputElement;
    for (const q of ["c", "ch", "cho"]) {
      search.value = q;
      search.dispatchEvent(new Event("input"));
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(140);
    expect(backend.calls).toEqual(["list null"]);
    await vi.advanceTimersByTimeAsync(20);
    expect(backend.calls).toEqual(["list null", "list cho"]);
    expect(titles()).toEqual(["What does a high LDL cholesterol mean?"]);
    search.value = "zzzz";
    search.dispatchEvent(new Event("input"));
    await vi.advanceTimersByTimeAsync(200);
    expect(backend.calls[backend.calls.length - 1]).toBe("list zzzz");
    expect(rows()).toHaveLength(0);
    expect(panel.element.querySelector(".conv-empty")?.textContent).toBe("No saved conversation contains “zzzz”.");
    search.value = "  ";
    search.dispatchEvent(new Event("input"));
    await vi.advanceTimersByTimeAsync(200);
    expect(backend.calls[backend.calls.length - 1]).toBe("list null");
    expect(rows()).toHaveLength(3);
  });

  it("keeps the newest search's answer when an older one arrives late", async () => {
    let release: () => void = () => {};
    backend.listGate = new Promise<void>((r) => (release = r));
    const search = panel.element.querySelector("input[type=search]") as HTMLInputElement;
    search.value = "ferritin";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await tick();
    backend.listGate = null;
    search.value = "LDL";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await settle();
    expect(titles()).toEqual(["What does a high LDL cholesterol mean?"]);
    release();
    await settle();
    expect(titles()).toEqual(["What does a high LDL cholesterol mean?"]);
  });

  it("opens a conversation in the chat", async () => {
    const view = conversation(backend.conversations[2], [message(1, "user", "Is a ferritin of 12 low?")]);
    backend.views.set(1, view);
    (row(1).querySelector(".conv-open") as HTMLButtonElement).click();
    await settle();
    expect(backend.calls).toContain("open 1");
    expect(host.log).toEqual(["opened"]);
    expect(host.views[0]).toBe(view);
  });

  it("says why a conversation could not be opened, and stays", async () => {
    (row(2).querySelector(".conv-open") as HTMLButtonElement).click();
    await settle();
    expect(host.log).toEqual([]);
    expect(alert()).toBe("This conversation no longer exists.");
  });

  it("starts a new conversation and goes back", async () => {
    button(panel.element, "New conversation").click();
    await settle();
    expect(host.log).toEqual(["new"]);
    (panel.element.querySelector("header button") as HTMLButtonElement).click();
    expect(host.log).toEqual(["new", "close"]);
    panel.element.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
    expect(host.log).toEqual(["new", "close", "close"]);
    // In the search field, Escape empties the search first.
    const search = panel.element.querySelector("input[type=search]") as HTMLInputElement;
    search.value = "LDL";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
    await settle();
    expect(search.value).toBe("");
    expect(host.log).toEqual(["new", "close", "close"]);
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
    expect(host.log).toEqual(["new", "close", "close", "close"]);
  });

  it("deletes only after a confirmation that says what goes", async () => {
    const more = row(1).querySelector(".conv-more") as HTMLButtonElement;
    expect(more.getAttribute("aria-expanded")).toBe("false");
    more.click();
    expect(more.getAttribute("aria-expanded")).toBe("true");
    button(row(1), "Delete").click();
    await tick();
    expect(dialog()?.textContent).toContain(DELETE_TEXT);
    expect(DELETE_TEXT).toBe("Delete this conversation, its record and its saved cache? This cannot be undone.");
    // Focus starts on the safe choice.
    expect(document.activeElement?.textContent).toBe("Cancel");
    button(dialog()!, "Cancel").click();
    await settle();
    expect(dialog()).toBeNull();
    expect(backend.calls.filter((c) => c.startsWith("delete"))).toEqual([]);
    expect(titles()).toHaveLength(3);
    // Escape is a "no" too.
    button(row(1), "Delete").click();
    await tick();
    dialog()!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
    await settle();
    expect(dialog()).toBeNull();
    expect(host.log).toEqual([]);
    expect(backend.calls.filter((c) => c.startsWith("delete"))).toEqual([]);
    // Confirmed: deleted and gone from the list; it was not the open one.
    button(row(1), "Delete").click();
    await tick();
    button(dialog()!, "Delete").click();
    await settle();
    expect(backend.calls).toContain("delete 1");
    expect(titles()).toEqual(["What does a high LDL cholesterol mean?", "Untitled"]);
    expect(host.log).toEqual([]);
  });

  it("empties the chat when the open conversation is deleted", async () => {
    (row(3).querySelector(".conv-more") as HTMLButtonElement).click();
    button(row(3), "Delete").click();
    await tick();
    button(dialog()!, "Delete").click();
    await settle();
    expect(backend.calls).toContain("delete 3");
    expect(host.log).toEqual(["deletedOpen"]);
    expect(panel.element.querySelectorAll("[aria-current=true]")).toHaveLength(0);
  });

  it("renames in place, without a prompt", async () => {
    const prompt = vi.spyOn(window, "prompt");
    (row(1).querySelector(".conv-more") as HTMLButtonElement).click();
    button(row(1), "Rename").click();
    const input = row(1).querySelector("form.conv-rename input") as HTMLInputElement;
    expect(input.value).toBe("Is a ferritin of 12 low?");
    expect(document.activeElement).toBe(input);
    // Escape leaves it as it was.
    input.value = "Something else";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
    expect(row(1).querySelector("form")).toBeNull();
    expect(titles()[2]).toBe("Is a ferritin of 12 low?");
    expect(host.log).toEqual([]);
    // An empty title is not sent.
    (row(1).querySelector(".conv-more") as HTMLButtonElement).click();
    button(row(1), "Rename").click();
    const again = row(1).querySelector("form.conv-rename input") as HTMLInputElement;
    again.value = "   ";
    button(row(1), "Save").click();
    await settle();
    expect(backend.calls.filter((c) => c.startsWith("rename"))).toEqual([]);
    again.value = "  Iron, March  ";
    button(row(1), "Save").click();
    await settle();
    expect(backend.calls).toContain("rename 1 Iron, March");
    expect(titles()).toEqual(["What does a high LDL cholesterol mean?", "Untitled", "Iron, March"]);
    expect(alert()).toBe("");
    expect(prompt).not.toHaveBeenCalled();
  });

  it("exports as Markdown, and says nothing when the save dialog is cancelled", async () => {
    backend.exportPath = null;
    (row(3).querySelector(".conv-more") as HTMLButtonElement).click();
    button(row(3), "Export").click();
    await settle();
    expect(backend.calls).toContain("export 3 What does a high LDL cholesterol mean.md");
    expect(panel.element.querySelector("[role=status]")?.textContent).toBe("");
    expect(alert()).toBe("");
    backend.exportPath = "/home/me/ldl.md";
    button(row(3), "Export").click();
    await settle();
    expect(panel.element.querySelector("[role=status]")?.textContent).toContain("saved as a Markdown file");
  });

  it("leaves out a conversation with nothing in it (a refused first question)", async () => {
    backend.conversations = [summary(9, "", NOW - 1000, { messages: 0 }), ...backend.conversations];
    backend.current = 9;
    await panel.refresh();
    expect(rows().map((r) => r.dataset.id)).toEqual(["3", "2", "1"]);
    backend.conversations = [summary(9, "", NOW - 1000, { messages: 0 })];
    await panel.refresh();
    expect(rows()).toHaveLength(0);
    expect(panel.element.textContent).toContain(EMPTY_TEXT);
  });

  it("shows why the history cannot be used, instead of the list", async () => {
    backend.listError = new BackendError("history.not_a_database", "The conversation history file is not a Murmur history: it was left as it is, and nothing is saved now.");
    await panel.refresh();
    // In plain words: not the backend's message.
    expect(panel.element.querySelector("[role=alert]")?.textContent).toBe(ERROR_WORDS["history.not_a_database"]);
    expect(rows()).toHaveLength(0);
    expect(panel.element.textContent).not.toContain(EMPTY_TEXT);
    // Once it can be read again, the list comes back and the message goes.
    backend.listError = null;
    await panel.refresh();
    expect(rows()).toHaveLength(3);
    expect(alert()).toBe("");
  });
});

describe("export file names", () => {
  it("come from the title, without what file systems refuse", () => {
    expect(exportName("What is LDL?")).toBe("What is LDL.md");
    expect(exportName("In three sentences, what does an LDL cholesterol test…")).toBe("In three sentences, what does an LDL cholesterol test.md");
    expect(exportName("a/b\\c: <d> | \"e\"")).toBe("a b c d e.md");
    expect(exportName("../../etc/passwd")).toBe("etc passwd.md");
    expect(exportName("   ")).toBe("Conversation.md");
  });
});

describe("the app, from the chat to a saved conversation and back", () => {
  it("opens the list from the chat's bar, shows a conversation's messages, and the chat empties when it is deleted", async () => {
    document.body.innerHTML = "";
    const app = document.createElement("div");
    document.body.append(app);
    const b = new FakeBackend(modelsView(true));
    const s = summary(7, "What is HbA1c?", NOW, { has_record: true });
    b.conversations = [s];
    b.views.set(7, conversation(s, [message(1, "user", "What is HbA1c?"), message(2, "assistant", "It is **average** blood sugar.")], "HbA1c 6.1 %"));
    await start(app, b);
    await settle();
    const open = app.querySelector(".chat .bar button[aria-label=Conversations]") as HTMLButtonElement;
    expect(open).not.toBeNull();
    open.click();
    await settle();
    expect(app.querySelector(".conversations")).not.toBeNull();
    expect(app.querySelector(".chat")).toBeNull();
    (app.querySelector(".conv-open") as HTMLButtonElement).click();
    await settle();
    expect(app.querySelector(".conversations")).toBeNull();
    expect(app.querySelector(".msg.user")?.textContent).toBe("What is HbA1c?");
    expect(app.querySelector(".msg.assistant strong")?.textContent).toBe("average");
    expect(app.querySelector(".record-card")?.textContent).toContain("Attached record");
    // Deleting it (it is open) leaves an empty chat without the record.
    open.click();
    await settle();
    expect(app.querySelector("[aria-current=true]")).not.toBeNull();
    (app.querySelector(".conv-more") as HTMLButtonElement).click();
    button(app, "Delete").click();
    await tick();
    button(app.querySelector("[role=alertdialog]")!, "Delete").click();
    await settle();
    expect(app.querySelector(".conv-empty")?.textContent).toBe(EMPTY_TEXT);
    button(app, "Back").click();
    await settle();
    expect(app.querySelector(".msg")).toBeNull();
    expect(app.querySelector(".record-card")).toBeNull();
    expect(app.querySelector(".chat .empty")).not.toBeNull();
  });
});
