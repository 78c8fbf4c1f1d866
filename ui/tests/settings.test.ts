import { describe, expect, it } from "vitest";
import { SettingsScreen } from "../src/settings";
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
});
