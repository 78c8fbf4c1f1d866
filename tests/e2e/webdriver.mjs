// A plain W3C WebDriver client over fetch, for tauri-driver + WebKitWebDriver (no browser of
// its own; see ../shared/design/TESTING-RECIPES.md for the traps this avoids).
import { writeFileSync } from "node:fs";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
    /** Every wait's time and limit: a limit must hold on a machine twice as slow. */
    this.waits = [];
  }

  /** Records a finished wait (what, how long it took, its limit). */
  took(what, start, timeoutMs) {
    this.waits.push({ what, ms: Date.now() - start, limit: timeoutMs });
  }

  /** The waits that used more than `share` of their limit, slowest share first. */
  tight(share = 0.5) {
    return this.waits.filter((w) => w.ms > w.limit * share).sort((a, b) => b.ms / b.limit - a.ms / a.limit);
  }

  static async start(port, application) {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let lastError;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${base}/session`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          // Only tauri:options: adding browserName makes the capabilities fail to match.
          body: JSON.stringify({ capabilities: { alwaysMatch: { "tauri:options": { application } } } }),
        });
        const body = await r.json();
        if (r.ok && body.value?.sessionId) return new Session(base, body.value.sessionId);
        lastError = JSON.stringify(body);
      } catch (e) {
        lastError = e;
      }
      await sleep(500);
    }
    throw new Error(`no WebDriver session: ${lastError}`);
  }

  async cmd(method, path, body) {
    const r = await fetch(`${this.base}/session/${this.id}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value ?? json)}`);
    return json.value;
  }

  async findAll(css) {
    const v = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return v.map((e) => e[ELEMENT]);
  }

  /** Waits for an element (and returns it). */
  async wait(css, timeoutMs = 30_000) {
    const start = Date.now();
    const deadline = start + timeoutMs;
    while (Date.now() < deadline) {
      const found = await this.findAll(css);
      if (found.length) {
        this.took(css, start, timeoutMs);
        return found[0];
      }
      await sleep(150);
    }
    throw new Error(`no ${css} within ${timeoutMs} ms`);
  }

  /** Runs `body` (a function body) in the page with `args`; returns its value. */
  exec(body, ...args) {
    return this.cmd("POST", "/execute/sync", { script: body, args });
  }

  /** Polls a page expression until it is truthy; returns its value. */
  async until(body, timeoutMs = 30_000, ...args) {
    const start = Date.now();
    const deadline = start + timeoutMs;
    let v;
    while (Date.now() < deadline) {
      v = await this.exec(body, ...args);
      if (v) {
        this.took(body, start, timeoutMs);
        return v;
      }
      await sleep(150);
    }
    throw new Error(`timed out (${timeoutMs} ms) waiting for: ${body}`);
  }

  click(el) {
    return this.cmd("POST", `/element/${el}/click`, {});
  }

  /** Types text (with the `text` field some WebKitWebDriver versions require). */
  type(el, text) {
    return this.cmd("POST", `/element/${el}/value`, { text, value: [...text] });
  }

  text(el) {
    return this.cmd("GET", `/element/${el}/text`);
  }

  async screenshot(path) {
    const b64 = await this.cmd("GET", "/screenshot");
    writeFileSync(path, Buffer.from(b64, "base64"));
  }

  setWindowRect(width, height) {
    return this.cmd("POST", "/window/rect", { width, height });
  }

  async quit() {
    try {
      await this.cmd("DELETE", "");
    } catch {
      // The app may already be gone.
    }
  }
}
