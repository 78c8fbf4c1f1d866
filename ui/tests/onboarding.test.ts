import { describe, expect, it } from "vitest";
import { canChat, Onboarding } from "../src/onboarding";
import { BackendError } from "../src/platform";
import { FakeBackend, modelsView } from "./fake";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("first run", () => {
  it("preselects the recommended models with size, memory and licence", () => {
    const o = new Onboarding(new FakeBackend(modelsView(false)), modelsView(false), () => {});
    const text = o.element.textContent ?? "";
    expect(text).toContain("1.1 GB");
    expect(text).toContain("needs 1.4 GB of memory");
    expect(text).toContain("Licence: Apache-2.0");
    expect(o.element.querySelector("button.primary")?.textContent).toBe("Download (1.3 GB)");
    expect(canChat(modelsView(false))).toBe(false);
    expect(canChat(modelsView(true))).toBe(true);
  });

  it("moves a real progress bar and offers pause, then retry with the reason on failure", async () => {
    const backend = new FakeBackend(modelsView(false));
    const o = new Onboarding(backend, modelsView(false), () => {});
    document.body.append(o.element);
    const id = "qwen2.5-1.5b-instruct-q4_k_m";
    void o.download(id);
    await tick();
    const d = backend.downloads.get(id)!;
    d.progress({ id, state: { state: "downloading" }, bytes_done: 558_660_368, bytes_total: 1_117_320_736, speed_bps: 3_000_000, eta_secs: 186, attempt: 1 });
    const row = o.element.querySelector(`[data-id="${id}"]`) as HTMLElement;
    expect((row.querySelector("progress") as HTMLProgressElement).value).toBe(50);
    expect(row.textContent).toContain("50% · 559 MB of 1.1 GB · 3.0 MB/s · 3 min 6 s left");
    expect(row.querySelector(".actions")?.textContent).toBe("Pause");
    d.reject(new BackendError("download.disk_full", "not enough free space: 1.1 GB needed, 0.4 GB free"));
    await tick();
    expect(row.dataset.state).toBe("failed");
    expect(row.querySelector(".error")?.textContent).toContain("not enough free space");
    expect(row.querySelector(".error")?.textContent).toContain("Free some space");
    expect(row.querySelector(".actions")?.textContent).toBe("Retry");
  });

  it("a paused download can be resumed", async () => {
    const backend = new FakeBackend(modelsView(false));
    const o = new Onboarding(backend, modelsView(false), () => {});
    const id = "whisper-base.en";
    void o.download(id);
    await tick();
    backend.downloads.get(id)!.reject(new BackendError("cancelled", "the download was cancelled"));
    await tick();
    const row = o.element.querySelector(`[data-id="${id}"]`) as HTMLElement;
    expect(row.dataset.state).toBe("paused");
    (row.querySelector(".actions button") as HTMLButtonElement).click();
    await tick();
    expect(backend.calls.filter((c) => c === `download ${id}`)).toHaveLength(2);
  });
});
