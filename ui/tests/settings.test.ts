import { describe, expect, it } from "vitest";
import { BackendError } from "../src/platform";
import { ERROR_WORDS } from "../src/strings";
import { DELETE_ALL_TEXT, SettingsScreen } from "../src/settings";
import { FakeBackend, modelsView } from "./fake";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("settings", () => {
  it("shows models with delete or download, and saves what the person changed", async () => {
    const view = modelsView(true);
    view.catalog.push({ ...view.catalog[0], entry: { ...view.catalog[0].entry, id: "qwen2.5-0.5b", name: "Qwen2.5 0.5B", default: false, verified: true }, installed: { state: "missing" } });
    const backend = new FakeBackend(view);
    let closed: boolean | null = null;
    const screen = new SettingsScreen(backend, (reload) => { closed = reload; });
    await screen.open();
    const rows = Array.from(screen.element.querySelectorAll(".plain li"));
    expect(rows.map((r) => r.querySelector("button")?.textContent)).toEqual(["Delete", "Delete", "Download"]);
    (rows[2].querySelector("button") as HTMLButtonElement).click();
    await tick();
    expect(backend.calls).toContain("download qwen2.5-0.5b");
    const temperature = screen.element.querySelector("#temperature") as HTMLInputElement;
    temperature.value = "0";
    const instructions = screen.element.querySelector("#instructions") as HTMLTextAreaElement;
    expect(instructions.value).toBe("Default.");
    instructions.value = "Be brief.";
    (Array.from(screen.element.querySelectorAll("button")).find((b) => b.textContent === "Save") as HTMLButtonElement).click();
    await tick();
    expect(backend.settings.temperature).toBe(0);
    expect(backend.settings.instructions).toBe("Be brief.");
    expect(closed).toBe(false);
  });

  it("lists imported models with a Delete button", async () => {
    const view = modelsView(true);
    view.imported = [
      { id: "my-llama", role: "llm", path: "/data/models/imported/my-llama.gguf", summary: "GGUF llama Q4_K_M", present: true },
      { id: "old-whisper", role: "asr", path: "/home/me/ggml-small.bin", summary: "whisper.cpp small", present: false },
    ];
    const backend = new FakeBackend(view);
    const screen = new SettingsScreen(backend, () => {});
    await screen.open();
    const row = screen.element.querySelector('.plain li[data-id="my-llama"]') as HTMLElement;
    expect(row.textContent).toContain("my-llama (imported, answers) · GGUF llama Q4_K_M");
    expect(screen.element.querySelector('.plain li[data-id="old-whisper"]')?.textContent).toContain("the file is missing");
    const del = row.querySelector("button") as HTMLButtonElement;
    expect(del.textContent).toBe("Delete");
    backend.models = { ...view, imported: view.imported.slice(1) };
    del.click();
    await tick();
    await tick();
    expect(backend.calls).toContain("remove my-llama");
    // The list is read again: the deleted model is gone.
    expect(screen.element.querySelector('.plain li[data-id="my-llama"]')).toBeNull();
  });

  it("says why an imported model could not be deleted", async () => {
    const view = modelsView(true);
    view.imported = [{ id: "my-llama", role: "llm", path: "/m/my-llama.gguf", summary: "GGUF llama", present: true }];
    const backend = new FakeBackend(view);
    backend.removeError = new BackendError("store.io", "permission denied");
    const screen = new SettingsScreen(backend, () => {});
    await screen.open();
    (screen.element.querySelector('.plain li[data-id="my-llama"] button') as HTMLButtonElement).click();
    await tick();
    expect(screen.element.querySelector("[role=status]")?.textContent).toBe(ERROR_WORDS["store.io"]);
  });
});

describe("your data", () => {
  const button = (root: ParentNode, text: string) =>
    Array.from(root.querySelectorAll("button")).find((b) => b.textContent === text) as HTMLButtonElement;

  it("deletes all of it only after a confirmation that says exactly what goes", async () => {
    document.body.innerHTML = "";
    const backend = new FakeBackend(modelsView(true));
    let deleted = 0;
    const screen = new SettingsScreen(backend, () => {}, () => { deleted += 1; });
    await screen.open();
    document.body.append(screen.element);
    expect(screen.element.textContent).toContain("Your data");
    button(screen.element, "Delete all my data").click();
    await tick();
    const dialog = () => screen.element.querySelector("[role=alertdialog]");
    expect(dialog()?.textContent).toContain(DELETE_ALL_TEXT);
    expect(DELETE_ALL_TEXT).toBe("This deletes every saved conversation, attached records, saved caches and your settings from this device. Downloaded models stay. This cannot be undone.");
    expect(dialog()?.getAttribute("aria-modal")).toBe("true");
    // Cancelled: nothing happens.
    button(dialog()!, "Cancel").click();
    await tick();
    expect(dialog()).toBeNull();
    expect(backend.calls).not.toContain("deleteAll");
    expect(deleted).toBe(0);
    // Confirmed: all of it is deleted and the app goes back to an empty chat.
    button(screen.element, "Delete all my data").click();
    await tick();
    button(dialog()!, "Delete all my data").click();
    await tick();
    await tick();
    expect(backend.calls.filter((c) => c === "deleteAll")).toHaveLength(1);
    expect(deleted).toBe(1);
  });

  it("says why the data could not be deleted", async () => {
    const backend = new FakeBackend(modelsView(true));
    backend.historyError = new BackendError("history.read_only", "The history cannot be written: the file is read-only.");
    let deleted = 0;
    const screen = new SettingsScreen(backend, () => {}, () => { deleted += 1; });
    await screen.open();
    button(screen.element, "Delete all my data").click();
    await tick();
    button(screen.element.querySelector("[role=alertdialog]")!, "Delete all my data").click();
    await tick();
    await tick();
    expect(deleted).toBe(0);
    expect(screen.element.querySelector("[role=alert]")?.textContent).toBe(ERROR_WORDS["history.read_only"]);
  });
});

describe("settings for every reader", () => {
  it("names every field, the assistant's instructions included", async () => {
    const screen = new SettingsScreen(new FakeBackend(modelsView(true)), () => {});
    await screen.open();
    document.body.replaceChildren(screen.element);
    const name = (el: HTMLElement): string => {
      const labelled = el.getAttribute("aria-labelledby");
      if (labelled) return labelled.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim();
      if (el.getAttribute("aria-label")) return el.getAttribute("aria-label") ?? "";
      const labels = (el as HTMLInputElement).labels;
      return labels ? Array.from(labels).map((l) => l.textContent ?? "").join(" ").trim() : "";
    };
    const fields = Array.from(screen.element.querySelectorAll<HTMLElement>("input, select, textarea"));
    expect(fields.length).toBeGreaterThanOrEqual(7);
    expect(fields.filter((f) => !name(f)).map((f) => f.id || f.outerHTML)).toEqual([]);
    const instructions = screen.element.querySelector("#instructions") as HTMLTextAreaElement;
    expect(name(instructions)).toMatch(/instructions/i);
    expect(document.getElementById(instructions.getAttribute("aria-describedby") ?? "")?.textContent).toBeTruthy();
  });
});
