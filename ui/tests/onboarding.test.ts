import { describe, expect, it } from "vitest";
import type { DownloadProgress, ModelsView } from "../../gen/bindings";
import { canChat, Onboarding } from "../src/onboarding";
import { BackendError } from "../src/platform";
import { ERROR_WORDS } from "../src/strings";
import { FakeBackend, modelsView } from "./fake";

const tick = () => new Promise((r) => setTimeout(r, 0));
const LLM = "qwen2.5-1.5b-instruct-q4_k_m";
const ASR = "whisper-base.en";

const progress = (id: string, state: DownloadProgress["state"], done: number, extra: Partial<DownloadProgress> = {}): DownloadProgress =>
  ({ id, state, bytes_done: done, bytes_total: 1_117_320_736, speed_bps: 3_000_000, eta_secs: 186, attempt: 1, ...extra });

/** The default catalog plus a smaller, not recommended answer model. */
function withChoice(): ModelsView {
  const view = modelsView(false);
  const llm = view.catalog[0];
  view.catalog.push({ ...llm, entry: { ...llm.entry, id: "qwen2.5-0.5b", name: "Qwen2.5 0.5B", bytes: 491_400_032, ram_mb: 700, license: "Apache-2.0", default: false, verified: true }, installed: { state: "missing" } });
  return view;
}

function button(root: Element, text: string): HTMLButtonElement {
  const b = Array.from(root.querySelectorAll("button")).find((x) => x.textContent === text);
  if (!b) throw new Error(`no button ${text}`);
  return b as HTMLButtonElement;
}

describe("first run", () => {
  it("preselects the recommended models with size, memory, licence and time on Wi-Fi", () => {
    const o = new Onboarding(new FakeBackend(modelsView(false)), modelsView(false), () => {});
    const text = o.element.textContent ?? "";
    expect(text).toContain("1.1 GB");
    expect(text).toContain("needs 1.4 GB of memory");
    expect(text).toContain("Licence: Apache-2.0");
    expect(o.element.querySelector(`[data-id="${LLM}"] .figures`)?.textContent).toContain("about 1 min on Wi-Fi");
    expect(o.element.querySelector("button.primary")?.textContent).toBe("Download (1.3 GB)");
    expect(canChat(modelsView(false))).toBe(false);
    expect(canChat(modelsView(true))).toBe(true);
  });

  it("offers every catalog model of each role as a choice, and downloads the chosen ones", async () => {
    const backend = new FakeBackend(withChoice());
    const o = new Onboarding(backend, withChoice(), () => {});
    const llmRadios = Array.from(o.element.querySelectorAll<HTMLInputElement>("input[type=radio][name=model-llm]"));
    expect(llmRadios.map((r) => r.value)).toEqual([LLM, "qwen2.5-0.5b"]);
    expect(llmRadios.map((r) => r.checked)).toEqual([true, false]);
    expect(o.element.querySelectorAll("input[type=radio][name=model-asr]")).toHaveLength(1);
    const small = o.element.querySelector('[data-id="qwen2.5-0.5b"]')?.textContent ?? "";
    expect(small).toContain("491 MB · needs 700 MB of memory · about 1 min on Wi-Fi");
    expect(small).toContain("Licence: Apache-2.0");
    llmRadios[1].checked = true;
    llmRadios[1].dispatchEvent(new Event("change"));
    // 491 MB + 148 MB.
    expect(o.element.querySelector("button.primary")?.textContent).toBe("Download (639 MB)");
    (o.element.querySelector("button.primary") as HTMLButtonElement).click();
    await tick();
    expect(backend.calls.filter((c) => c.startsWith("download")).sort()).toEqual(["download qwen2.5-0.5b", `download ${ASR}`]);
    expect(o.element.querySelector("button.primary")?.textContent).toBe("Downloading…");
    expect(llmRadios[0].disabled).toBe(true);
  });

  it("moves a real progress bar and offers pause and cancel, then retry with the reason on failure", async () => {
    const backend = new FakeBackend(modelsView(false));
    const o = new Onboarding(backend, modelsView(false), () => {});
    document.body.append(o.element);
    void o.download(LLM);
    await tick();
    const d = backend.downloads.get(LLM)!;
    d.progress(progress(LLM, { state: "downloading" }, 558_660_368));
    const row = o.element.querySelector(`[data-id="${LLM}"]`) as HTMLElement;
    expect((row.querySelector("progress") as HTMLProgressElement).value).toBe(50);
    expect(row.textContent).toContain("50% · 559 MB of 1.1 GB · 3.0 MB/s · 3 min 6 s left");
    expect(Array.from(row.querySelectorAll(".actions button")).map((b) => b.textContent)).toEqual(["Pause", "Cancel"]);
    d.reject(new BackendError("download.disk_full", "not enough free space: 1.1 GB needed, 0.4 GB free"));
    await tick();
    expect(row.dataset.state).toBe("failed");
    // Plain words and what to do, with the figures of the backend's message as a details line.
    expect(row.querySelector(".error")?.firstChild?.textContent).toBe(ERROR_WORDS["download.disk_full"]);
    expect(row.querySelector(".error")?.textContent).toContain("Free some space");
    expect(row.querySelector(".error .error-detail")?.textContent).toBe("not enough free space: 1.1 GB needed, 0.4 GB free");
    expect(row.querySelector(".actions")?.textContent).toBe("Retry");
  });

  it("shows a speed averaged over the last seconds, not the last burst", async () => {
    const backend = new FakeBackend(modelsView(false));
    let now = 0;
    const o = new Onboarding(backend, modelsView(false), () => {}, { now: () => now });
    void o.download(LLM);
    await tick();
    const d = backend.downloads.get(LLM)!;
    const row = o.element.querySelector(`[data-id="${LLM}"]`) as HTMLElement;
    // 1 MB every 500 ms (2 MB/s), but the backend's last interval saw a 500 MB/s burst.
    for (const [t, mb] of [[0, 100], [500, 101], [1000, 102], [1500, 103]]) {
      now = t;
      d.progress(progress(LLM, { state: "downloading" }, mb * 1e6, { speed_bps: 500e6, eta_secs: 0.5 }));
    }
    const figures = row.querySelector(".figures")?.textContent ?? "";
    // (1117 − 103) MB at 2 MB/s.
    expect(figures).toBe("9% · 103 MB of 1.1 GB · 2.0 MB/s · 8 min 27 s left");
  });

  it("a paused download can be resumed", async () => {
    const backend = new FakeBackend(modelsView(false));
    const o = new Onboarding(backend, modelsView(false), () => {});
    void o.download(ASR);
    await tick();
    backend.downloads.get(ASR)!.reject(new BackendError("cancelled", "the download was cancelled"));
    await tick();
    const row = o.element.querySelector(`[data-id="${ASR}"]`) as HTMLElement;
    expect(row.dataset.state).toBe("paused");
    expect(Array.from(row.querySelectorAll(".actions button")).map((b) => b.textContent)).toEqual(["Resume", "Cancel"]);
    (row.querySelector(".actions button") as HTMLButtonElement).click();
    await tick();
    expect(backend.calls.filter((c) => c === `download ${ASR}`)).toHaveLength(2);
  });

  it("Cancel stops the download, waits for its end, then deletes the partial file", async () => {
    const backend = new FakeBackend(modelsView(false));
    const o = new Onboarding(backend, modelsView(false), () => {});
    void o.download(LLM);
    await tick();
    const d = backend.downloads.get(LLM)!;
    d.progress(progress(LLM, { state: "downloading" }, 558_660_368));
    const row = o.element.querySelector(`[data-id="${LLM}"]`) as HTMLElement;
    button(row, "Cancel").click();
    await tick();
    expect(backend.calls).toContain(`cancel ${LLM}`);
    // The download still holds its file: nothing is deleted yet.
    expect(backend.calls).not.toContain(`remove ${LLM}`);
    expect(row.dataset.state).toBe("cancelling");
    d.progress(progress(LLM, { state: "cancelled" }, 558_660_368));
    await tick();
    expect(backend.calls).toContain(`remove ${LLM}`);
    expect(backend.calls.indexOf(`cancel ${LLM}`)).toBeLessThan(backend.calls.indexOf(`remove ${LLM}`));
    d.reject(new BackendError("cancelled", "the download was cancelled"));
    await tick();
    // Back to not downloaded (not paused): the figures of a fresh card, no actions.
    expect(row.dataset.state).toBe("missing");
    expect(row.querySelector(".actions")?.childElementCount).toBe(0);
    expect(row.querySelector(".figures")?.textContent).toContain("on Wi-Fi");
    expect((row.querySelector("progress") as HTMLProgressElement).hidden).toBe(true);
    expect(o.element.querySelector("button.primary")?.textContent).toBe("Download (1.3 GB)");
  });

  it("Cancel on a paused download deletes the partial file at once", async () => {
    const view = modelsView(false);
    view.catalog[1].installed = { state: "partial", bytes: 74_000_000 };
    const backend = new FakeBackend(view);
    const o = new Onboarding(backend, view, () => {});
    const row = o.element.querySelector(`[data-id="${ASR}"]`) as HTMLElement;
    expect(row.dataset.state).toBe("paused");
    expect(row.querySelector(".figures")?.textContent).toBe("Paused at 50%");
    button(row, "Cancel").click();
    await tick();
    expect(backend.calls).toEqual([`remove ${ASR}`]);
    expect(row.dataset.state).toBe("missing");
  });

  it("goes on to chat once the chosen models are on the device", async () => {
    const backend = new FakeBackend(modelsView(false));
    let ready = 0;
    const o = new Onboarding(backend, modelsView(false), () => { ready += 1; });
    (o.element.querySelector("button.primary") as HTMLButtonElement).click();
    await tick();
    backend.models = modelsView(true);
    backend.downloads.get(ASR)!.resolve();
    await tick();
    expect(ready).toBe(0);
    backend.downloads.get(LLM)!.resolve();
    await tick();
    await tick();
    expect(ready).toBe(1);
  });

  it("can go on without the voice model once the answer model is here", async () => {
    const backend = new FakeBackend(modelsView(false));
    let ready = 0;
    const o = new Onboarding(backend, modelsView(false), () => { ready += 1; });
    (o.element.querySelector("button.primary") as HTMLButtonElement).click();
    await tick();
    const skip = o.element.querySelector("button.skip") as HTMLButtonElement;
    expect(skip.hidden).toBe(true);
    backend.downloads.get(LLM)!.resolve();
    backend.downloads.get(ASR)!.reject(new BackendError("cancelled", "the download was cancelled"));
    await tick();
    await tick();
    expect(ready).toBe(0);
    expect(skip.hidden).toBe(false);
    backend.models = { ...modelsView(false), llm: modelsView(true).llm };
    skip.click();
    await tick();
    expect(ready).toBe(1);
  });
});

describe("I already have a model file", () => {
  it("imports the picked file and goes on to chat", async () => {
    const backend = new FakeBackend(modelsView(false));
    let ready = 0;
    const o = new Onboarding(backend, modelsView(false), () => { ready += 1; });
    // After the import, the backend has a language model.
    backend.models = { ...modelsView(false), llm: { id: "x", role: "llm", path: "/m/x.gguf", is_default: false } };
    button(o.element, "I already have a model file").click();
    await tick();
    await tick();
    expect(backend.calls).toContain("import /tmp/model.gguf");
    expect(ready).toBe(1);
  });

  it("shows why the backend refused the file, and stays", async () => {
    const backend = new FakeBackend(modelsView(false));
    backend.importError = new BackendError("import.not_a_model", "model.gguf is neither a GGUF language model nor a whisper.cpp model");
    let ready = 0;
    const o = new Onboarding(backend, modelsView(false), () => { ready += 1; });
    button(o.element, "I already have a model file").click();
    await tick();
    await tick();
    const status = o.element.querySelector("#onboarding-status")?.textContent ?? "";
    // The code in plain words with what to do; not the backend's message.
    expect(status).toBe(ERROR_WORDS["import.not_a_model"]);
    expect(status).toContain("Choose a GGUF language model");
    expect(ready).toBe(0);
    expect(o.element.querySelector("button.primary")?.textContent).toBe("Download (1.3 GB)");
  });
});
