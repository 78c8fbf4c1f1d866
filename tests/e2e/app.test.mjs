// The real app window, driven over WebDriver (tauri-driver + WebKitWebDriver) under Xvfb, on
// the real test models: first run → download from a server on 127.0.0.1 with the progress bar
// moving → chat; an answer that grows in the DOM; Stop then a follow-up; a record → Explain;
// the record card (red flags, the results table) and an answer checked against it;
// a spoken question through a PulseAudio virtual microphone; phone size and dark mode
// screenshots; hostile markdown from the model rendered inert; the saved conversations (listed,
// searched, reopened, renamed, deleted). Run by tests/e2e/run.sh.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { serveModels } from "./model-server.mjs";
import { Session } from "./webdriver.mjs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (tests/e2e/run.sh sets it)`);
  return v;
};
const APP = env("MURMUR_E2E_APP");
const OUT = env("MURMUR_E2E_OUT");
const SPEECH = env("MURMUR_TEST_SPEECH");
const OFFLINE = process.env.MURMUR_E2E_OFFLINE === "1";
const PORT = 4444 + Math.floor(Math.random() * 1000);
// run.sh's limit for the whole run (timeout 1200).
const RUN_LIMIT_S = 1200;
const started = Date.now();
mkdirSync(OUT, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

let server;
let driver;
let s;
let pulse;
const work = mkdtempSync(join(tmpdir(), "murmur-e2e-"));
const dataDir = join(work, "data");

async function shot(name) {
  try {
    await s?.screenshot(join(OUT, `${name}.png`));
  } catch (e) {
    console.error(`screenshot ${name}: ${e}`);
  }
}

/** Runs a step; on failure, saves a screenshot named after it. */
async function step(t, name, body) {
  await t.test(name, async () => {
    try {
      await body();
    } catch (e) {
      await shot(`FAILED-${name.replace(/\W+/g, "-")}`);
      throw e;
    }
  });
}

function startPulse() {
  const dir = join(work, "pulse");
  mkdirSync(dir, { recursive: true });
  process.env.PULSE_RUNTIME_PATH = dir;
  const r = spawnSync("pulseaudio", ["-D", "--exit-idle-time=-1", "--disallow-exit", "-n", "--use-pid-file=yes", "--load=module-native-protocol-unix", `--log-target=file:${join(dir, "log")}`]);
  assert.equal(r.status, 0, `pulseaudio: ${r.stderr}`);
  const pactl = (...a) => spawnSync("pactl", a).status === 0;
  for (let i = 0; i < 50 && !pactl("info"); i++) spawnSync("sleep", ["0.1"]);
  assert.ok(pactl("load-module", "module-null-sink", "sink_name=vsink", "rate=48000", "channels=1"));
  assert.ok(pactl("set-default-sink", "vsink"));
  assert.ok(pactl("set-default-source", "vsink.monitor"));
  return dir;
}

before(async () => {
  const llm = env("MURMUR_TEST_LLM");
  const asr = env("MURMUR_TEST_WHISPER");
  const catalog = { version: 1, note: "e2e", models: [] };
  if (OFFLINE) {
    // The models are on the device already (as after onboarding): by reference.
    mkdirSync(join(dataDir, "models"), { recursive: true });
    for (const [id, path, role] of [["test-llm", llm, "llm"], ["test-asr", asr, "asr"]]) {
      writeFileSync(join(dataDir, "models", `${id}.ref.json`), JSON.stringify({ path, role, summary: "test model" }));
    }
  } else {
    server = await serveModels({ "llm.gguf": llm, "asr.bin": asr }, 120e6);
    const url = (f) => `http://127.0.0.1:${server.address().port}/${f}`;
    catalog.models = [
      { id: "test-llm", role: "llm", name: "Qwen2.5-Coder 0.5B (test)", url: url("llm.gguf"), file: "llm.gguf", bytes: statSync(llm).size, sha256: sha256(llm), license: "Apache-2.0", ram_mb: 700, description: "The everyday test model.", default: true, verified: true },
      { id: "test-asr", role: "asr", name: "Whisper tiny.en (test)", url: url("asr.bin"), file: "asr.bin", bytes: statSync(asr).size, sha256: sha256(asr), license: "MIT", ram_mb: 200, description: "The test speech model.", default: true, verified: true },
    ];
  }
  // Greedy answers, so that the model's replies (the echoed hostile markdown) are reproducible.
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, "settings.json"), JSON.stringify({ temperature: 0, threads: 2 }));
  const catalogPath = join(work, "catalog.json");
  writeFileSync(catalogPath, JSON.stringify(catalog));
  startPulse();
  driver = spawn("tauri-driver", ["--port", String(PORT), "--native-port", String(PORT + 1)], {
    env: { ...process.env, MURMUR_DATA_DIR: dataDir, MURMUR_CATALOG: catalogPath, MURMUR_THREADS: "2", GTK_THEME: process.env.MURMUR_E2E_THEME ?? "Adwaita" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  s = await Session.start(PORT, APP);
  await s.setWindowRect(430, 860);
});

after(async () => {
  // Each limit should hold on a machine twice as slow as this one: name the waits that used
  // more than half of theirs (a limit to raise, or a step that became slow).
  if (s) {
    const slowest = s.waits.reduce((m, w) => Math.max(m, w.ms / w.limit), 0);
    console.log(`e2e headroom: ${s.waits.length} waits, the slowest used ${(slowest * 100).toFixed(0)}% of its limit; run ${((Date.now() - started) / 1000).toFixed(0)} s of the ${RUN_LIMIT_S} s limit`);
    for (const w of s.tight()) console.log(`e2e headroom: TIGHT ${w.ms} of ${w.limit} ms: ${w.what.slice(0, 120)}`);
  }
  await s?.quit();
  driver?.kill();
  server?.close();
  spawnSync("pulseaudio", ["--kill"]);
  // Whatever is left of this test's app (under strace, the WebDriver ends strace, not the app)
  // is ended too: it would hold the test runner's output open. Found by this run's data dir.
  await sleep(500);
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`MURMUR_DATA_DIR=${dataDir}`)) process.kill(Number(pid), "SIGKILL");
    } catch {
      // Gone already, or not ours to read.
    }
  }
});

/** The text of the last assistant message. */
const lastAnswer = () => s.exec("const m = [...document.querySelectorAll('.msg.assistant')].pop(); return m ? m.querySelector('.answer-body').textContent : '';");
// An answer may run to the app's 1024-token limit: "Explain results" on a panel takes longest.
const answerDone = (n, ms = 120_000) => s.until(`return document.querySelectorAll('.msg.assistant:not([aria-busy])').length >= ${n};`, ms);
async function ask(text) {
  const input = await s.wait("textarea");
  await s.type(input, text);
  await s.click(await s.wait("button.send"));
}

/** A lab panel with a critical value and a routine out-of-range one (the record step). */
const RECORD = "LIPID PANEL\nCholesterol, Total   241  H  mg/dL   100-199\nHDL Cholesterol   42   mg/dL   > 40\nPotassium   6.8   HH   mmol/L   3.5-5.1\n";

/** The first conversation's first question (its title is its beginning). */
const FIRST_QUESTION = "In three sentences, what does an LDL cholesterol test measure?";

/** Opens the conversations panel from the chat and waits for its list (or its message). */
async function openConversations() {
  await s.click(await s.wait(".chat .bar button.open-conversations"));
  await s.wait(".conversations .conv-list li, .conversations .conv-empty, .conversations [role=alert]:not(:empty)");
}

/** The row of the first conversation: its title is the start of FIRST_QUESTION. Its data-id, or null. */
const firstRow = () => s.exec(`
  const q = arguments[0];
  const li = [...document.querySelectorAll('.conv-list li')].find((l) => {
    const t = l.querySelector('.conv-title')?.textContent ?? '';
    return t.length > 10 && q.startsWith(t.replace(/…$/, ''));
  });
  return li ? li.dataset.id : null;`, FIRST_QUESTION);

/** Types `text` into the panel's search field (emptied first). */
async function search(text) {
  await s.exec("const i = document.querySelector('.conversations input[type=search]'); i.value = ''; i.dispatchEvent(new Event('input', { bubbles: true }));");
  if (text) await s.type(await s.wait(".conversations input[type=search]"), text);
}

test("Murmur in its real window", async (t) => {
  if (!OFFLINE) {
    await step(t, "first run downloads the models with a moving progress bar, then chat unlocks", async () => {
      await s.wait(".onboarding");
      await shot("onboarding");
      await s.click(await s.wait("button.primary"));
      const seen = new Set();
      const deadline = Date.now() + 120_000;
      let loadingShot = false;
      while (Date.now() < deadline && !(await s.findAll("textarea")).length) {
        if (!loadingShot && (await s.findAll(".loading")).length) {
          loadingShot = true;
          await shot("loading");
        }
        const p = await s.exec("const b = document.querySelector('[data-id=\"test-llm\"] progress'); return b ? b.value : null;");
        if (p != null) seen.add(p);
        if (seen.size === 3) await shot("onboarding-downloading");
        await sleep(100);
      }
      const moving = [...seen].filter((v) => v > 0 && v < 100);
      assert.ok(moving.length >= 3, `the progress bar should move through several values, saw ${[...seen]}`);
      await s.wait("textarea", 120_000);
    });
  } else {
    await s.wait("textarea", 120_000);
  }

  await step(t, "an answer grows in the DOM over several polls before it is done", async () => {
    await ask(FIRST_QUESTION);
    const lengths = [];
    while (!(await s.exec("return !!document.querySelector('.msg.assistant:not([aria-busy])');"))) {
      lengths.push((await lastAnswer()).length);
      await sleep(60);
    }
    const growing = lengths.filter((v, i) => i > 0 && v > lengths[i - 1]).length;
    assert.ok(growing >= 3, `the answer should grow over several polls: ${lengths.join(",")}`);
    assert.ok((await lastAnswer()).length > 20);
    await shot("chat-answer");
  });

  await step(t, "Stop ends an answer at once and a follow-up still answers", async () => {
    await ask("List twenty common blood tests and explain each one in detail.");
    await s.until("const m = [...document.querySelectorAll('.msg.assistant')].pop(); return m && m.querySelector('.answer-body').textContent.length > 30;", 60_000);
    await s.click(await s.wait("button.send.stop"));
    await s.until("return !!document.querySelector('.msg.assistant .stopped');", 10_000);
    await ask("Thank you. Which one checks iron stores?");
    await answerDone(3);
    assert.ok((await lastAnswer()).length > 5);
  });

  await step(t, "a record is attached: red flags first, its results as a table; an answer checked against it", async () => {
    // A lab panel with a critical value (potassium, HH) and a routine one outside its range.
    await s.exec("const t = document.querySelector('textarea'); t.value = arguments[0]; t.dispatchEvent(new Event('input', { bubbles: true }));", RECORD);
    const attach = await s.exec("return [...document.querySelectorAll('header button')].findIndex(b => b.textContent === 'Attach record');");
    await s.click((await s.findAll("header button"))[attach]);
    await s.wait(".record-card table", 60_000);
    const card = await s.exec(`const c = document.querySelector('.record-card');
      const rows = [...c.querySelectorAll('tbody tr')].map((tr) => ({ test: tr.querySelector('th').textContent, status: tr.querySelector('td.status').textContent }));
      return { banner: c.querySelector('.red-flags')?.textContent ?? '', alert: c.querySelector('.red-flags')?.getAttribute('role'), rows };`);
    assert.match(card.banner, /Some results need attention today/);
    assert.match(card.banner, /Potassium 6\.8/);
    assert.equal(card.alert, "alert");
    const status = (test) => card.rows.find((r) => r.test.startsWith(test))?.status ?? "";
    assert.match(status("Cholesterol"), /Above/, JSON.stringify(card.rows));
    assert.match(status("HDL"), /Within/, JSON.stringify(card.rows));
    assert.match(status("Potassium"), /Above.*Critical/, JSON.stringify(card.rows));
    // On a phone the card leaves the conversation in view, and nothing is wider than the screen.
    await s.setWindowRect(390, 844);
    await sleep(300);
    await shot(`record-card-phone${process.env.MURMUR_E2E_THEME ? "-dark" : ""}`);
    const room = await s.exec("return { wide: document.documentElement.scrollWidth <= window.innerWidth + 1, card: document.querySelector('.record-card').getBoundingClientRect().height, log: document.querySelector('.log').getBoundingClientRect().height, height: window.innerHeight };");
    assert.ok(room.wide, "nothing wider than the phone screen");
    assert.ok(room.card <= room.height * 0.55 && room.log >= room.height * 0.2, `the card leaves room for the conversation: ${JSON.stringify(room)}`);
    await s.setWindowRect(1100, 800);
    await sleep(300);
    await shot("record-card");
    await s.setWindowRect(430, 860);
    await sleep(300);

    const explain = await s.exec("return [...document.querySelectorAll('.record-card button')].findIndex(b => b.textContent === 'Explain results');");
    await s.click((await s.findAll(".record-card button"))[explain]);
    await answerDone(4, 300_000);
    assert.ok((await lastAnswer()).length > 20);
    // The answer is checked against the record: what the UI lists is what the check finds.
    const raw = await s.exec("return window.__TAURI_INTERNALS__.invoke('chat_snapshot').then((v) => v.turns.at(-1)?.assistant ?? '');");
    const check = await s.exec("return window.__TAURI_INTERNALS__.invoke('answer_check', { answer: arguments[0] });", raw);
    if (check.issues.length > 0) {
      // Listed once per distinct words and reason; every occurrence marked.
      const distinct = new Set(check.issues.map((i) => `${i.kind}\u0000${i.text}\u0000${i.explanation}`)).size;
      await s.until(`const m = [...document.querySelectorAll('.msg.assistant')].pop(); return m.querySelectorAll('.check-result li').length === ${distinct} && m.querySelectorAll('mark.check').length > 0;`, 10_000);
    } else if (check.numbers_checked > 0) {
      await s.until("return !!([...document.querySelectorAll('.msg.assistant')].pop().querySelector('.check-ok'));", 10_000);
    }
    console.log(`answer check: ${check.issues.length} issues (${check.issues.map((i) => i.kind).join(", ")}), ${check.numbers_checked} numbers checked`);
    await shot("record-explained");
    await s.setWindowRect(1100, 800);
    await sleep(300);
    await shot("record-check");
    await s.setWindowRect(430, 860);
    await sleep(300);
  });

  await step(t, "a spoken question: partial transcript in the input, then the answer", async () => {
    await s.click(await s.wait("button.mic:not([disabled])", 30_000));
    await s.until("return document.querySelector('button.mic').getAttribute('aria-pressed') === 'true';", 10_000);
    await sleep(800);
    const player = spawn("paplay", [join(SPEECH, "question.wav")]);
    const played = new Promise((r) => player.on("exit", r));
    let partial = "";
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !partial) {
      partial = await s.exec("return document.querySelector('textarea').value;");
      if (partial) await shot("listening-partial");
      await sleep(50);
    }
    await played;
    await s.until("return [...document.querySelectorAll('.msg.user')].some(m => /ferritin|blood|doctor/i.test(m.textContent));", 60_000);
    // Partial transcripts were shown in the input while the person spoke.
    const partials = Number(await s.exec("return document.querySelector('textarea').dataset.partials ?? 0;"));
    assert.ok(partials > 0 || partial.length > 0, `a partial transcript should appear in the input while speaking (${partials} shown)`);
    // The 0.5B test model may loop on a sentence up to its 1,024-token limit (as it may for
    // the record tasks above): the limit is that of a full-length answer on a slow machine.
    await answerDone(5, 300_000);
    assert.ok((await lastAnswer()).length > 5);
  });

  await step(t, "hostile markdown from the model renders inert", async () => {
    // A fresh conversation without the record: the model echoes the text back (greedy).
    const remove = await s.exec("return [...document.querySelectorAll('.record-card button')].findIndex(b => b.textContent === 'Remove');");
    if (remove >= 0) await s.click((await s.findAll(".record-card button"))[remove]);
    const idx = await s.exec("return [...document.querySelectorAll('header button')].findIndex(b => b.textContent === 'New chat');");
    await s.click((await s.findAll("header button"))[idx]);
    await s.until("return !document.querySelector('.msg');", 10_000);
    await ask('Echo this text back verbatim: <script>window.pwned=3</script> <img src=x onerror="window.pwned=1"> [link](javascript:window.pwned=2) done');
    await answerDone(1);
    const found = await s.exec("const m = document.querySelector('.msg.assistant .answer-body'); return { text: m.textContent, pwned: window.pwned ?? null, bad: document.querySelectorAll('.msg.assistant img, .msg.assistant script, .msg.assistant [onerror], .msg.assistant a[href]').length };");
    // The hostile output did reach the renderer: the model's raw answer (as the app keeps it)
    // holds the markup…
    const raw = await s.exec("return window.__TAURI_INTERNALS__.invoke('chat_snapshot').then((v) => v.turns.at(-1)?.assistant ?? '');");
    assert.match(raw, /<script|onerror|javascript:/, `the model did not echo the hostile markup: ${raw}`);
    assert.match(found.text, /done/);
    // …and nothing of it is live.
    assert.equal(found.pwned, null);
    assert.equal(found.bad, 0);
  });

  if (OFFLINE) {
    await step(t, "offline: the app's processes hold no network socket but loopback", async () => {
      const pids = spawnSync("pgrep", ["-f", "murmur-app|WebKitWebProcess|WebKitNetworkProcess"], { encoding: "utf8" }).stdout.split(/\s+/).filter(Boolean);
      assert.ok(pids.length > 0, "the app's processes");
      // Sockets of those processes, by inode.
      const inodes = new Set();
      for (const pid of pids) {
        const fds = spawnSync("sh", ["-c", `ls -l /proc/${pid}/fd 2>/dev/null`], { encoding: "utf8" }).stdout;
        for (const m of fds.matchAll(/socket:\[(\d+)\]/g)) inodes.add(m[1]);
      }
      // Every TCP/UDP socket they hold must be on loopback at both ends (the WebDriver
      // automation); unix sockets (X11, IPC) are not network sockets.
      const LOOPBACK = ["0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"];
      const isLoopback = (addr) => LOOPBACK.some((l) => addr.split(":")[0] === l);
      const unconnected = (addr) => /^0+:0000$/.test(addr);
      const bad = [];
      for (const table of ["tcp", "tcp6", "udp", "udp6"]) {
        for (const line of readFileSync(`/proc/net/${table}`, "utf8").trim().split("\n").slice(1)) {
          const f = line.trim().split(/\s+/);
          const [local, remote, inode] = [f[1], f[2], f[9]];
          if (!inodes.has(inode)) continue;
          if (!isLoopback(local) || !(isLoopback(remote) || unconnected(remote))) bad.push(`${table} ${local} -> ${remote}`);
        }
      }
      assert.deepEqual(bad, [], "network sockets other than loopback");

      // And over the whole run, not only now: strace saw every socket call of the app and its
      // web processes. Only this device's addresses (the WebDriver automation) may appear.
      const trace = readFileSync(env("MURMUR_E2E_STRACE"), "utf8").split("\n");
      assert.ok(trace.some((l) => /socket\(AF_UNIX/.test(l)), "the trace should have seen the app's IPC sockets");
      const local = /inet_addr\("127\.0\.0\.1"\)|inet_pton\(AF_INET6, "(::1|::ffff:127\.0\.0\.1)"/;
      const reaching = trace.filter((l) => /\b(connect|bind|sendto|sendmsg|sendmmsg)\(/.test(l) && /AF_INET6?\b/.test(l) && !local.test(l));
      assert.deepEqual(reaching, [], "the app tried to reach beyond this device");
      const inet = trace.filter((l) => /socket\(AF_INET6?\b/.test(l)).length;
      console.log(`offline trace: ${trace.length} socket calls, ${inet} IP sockets (loopback only), none beyond this device`);
    });
  }

  await step(t, "settings open, show the models and go back", async () => {
    const idx = await s.exec("return [...document.querySelectorAll('header button')].findIndex(b => b.textContent === 'Settings');");
    await s.click((await s.findAll("header button"))[idx]);
    await s.wait(".settings h2");
    const text = await s.exec("return document.querySelector('.settings').textContent;");
    assert.match(text, /Answer style/);
    assert.match(text, /instructions/);
    await shot("settings");
    const back = await s.exec("return [...document.querySelectorAll('.settings header button')].findIndex(b => b.textContent === 'Back');");
    await s.click((await s.findAll(".settings header button"))[back]);
    await s.wait("textarea");
  });

  await step(t, "phone size and desktop size", async () => {
    await s.setWindowRect(390, 844);
    await sleep(300);
    await shot(`phone${process.env.MURMUR_E2E_THEME ? "-dark" : ""}`);
    const fits = await s.exec("return document.documentElement.scrollWidth <= window.innerWidth + 1 && !!document.querySelector('textarea').getBoundingClientRect().bottom;");
    assert.ok(fits, "nothing wider than the phone screen");
    const dark = await s.exec("return matchMedia('(prefers-color-scheme: dark)').matches;");
    assert.equal(dark, Boolean(process.env.MURMUR_E2E_THEME?.endsWith(":dark")), "the system theme reaches the page");
    await s.setWindowRect(1100, 800);
    await sleep(300);
    await shot("desktop");
  });

  await step(t, "the conversations: listed by their first question, and searched", async () => {
    await openConversations();
    // The first conversation (asked, stopped, followed up, a record, a spoken question) is listed,
    // titled by its first question; nothing of the hostile one's markup is live in the list.
    const id = await firstRow();
    const titles = await s.exec("return [...document.querySelectorAll('.conv-list .conv-title')].map((t) => t.textContent);");
    assert.ok(id, `the first conversation should be listed by its first question: ${JSON.stringify(titles)}`);
    assert.ok(titles.length >= 2, `both conversations should be listed: ${JSON.stringify(titles)}`);
    assert.equal(await s.exec("return document.querySelectorAll('.conversations script, .conversations img').length;"), 0);
    assert.equal(await s.exec("return window.pwned ?? null;"), null);
    await shot("conversations");
    // A word of it finds it…
    await search("cholesterol");
    await s.until("return document.querySelector('.conv-list')?.getAttribute('aria-label') === 'Conversations with “cholesterol”';", 10_000);
    assert.equal(await firstRow(), id, "searching for a word of the first question lists it");
    // …and a word of nothing finds nothing.
    await search("zzzz");
    await s.until("return !document.querySelector('.conv-list li') && /zzzz/.test(document.querySelector('.conv-empty')?.textContent ?? '');", 10_000);
    await search("");
    await s.until("return document.querySelectorAll('.conv-list li').length >= 2;", 10_000);
    // The panel on a phone: nothing wider than the screen.
    await s.setWindowRect(390, 844);
    await sleep(300);
    await shot("conversations-phone");
    const fits = await s.exec("return document.documentElement.scrollWidth <= window.innerWidth + 1;");
    assert.ok(fits, "the conversations panel fits the phone's width");
  });

  await step(t, "a new conversation, then the first one reopened with its messages", async () => {
    await s.click(await s.wait(".conversations .conv-new"));
    await s.until("return !!document.querySelector('.chat') && !document.querySelector('.msg');", 10_000);
    await openConversations();
    const id = await firstRow();
    assert.ok(id, "the first conversation is still listed");
    await s.click(await s.wait(`.conv-list li[data-id="${id}"] .conv-open`));
    await s.until("return !!document.querySelector('.chat .msg.user');", 60_000);
    const shown = await s.exec(`return {
      users: [...document.querySelectorAll('.msg.user')].map((m) => m.textContent),
      answers: [...document.querySelectorAll('.msg.assistant')].map((m) => m.querySelector('.answer-body')?.textContent ?? ''),
      stopped: document.querySelectorAll('.msg.assistant .stopped').length,
    };`);
    assert.equal(shown.users[0], FIRST_QUESTION);
    assert.ok(shown.users.includes("Thank you. Which one checks iron stores?"), `the follow-up is shown: ${JSON.stringify(shown.users)}`);
    assert.ok(shown.answers.length >= 4, `its answers are shown: ${shown.answers.length}`);
    assert.ok(shown.answers[0].length > 20, "the first answer is shown");
    assert.ok(shown.stopped >= 1, "the stopped answer says so");
    await shot("conversation-reopened");
    // It is the open one in the list now.
    await openConversations();
    assert.equal(await s.exec(`return document.querySelector('.conv-list li[data-id="${id}"] .conv-open')?.getAttribute('aria-current');`), "true");
  });

  await step(t, "settings that load the model again keep the open conversation on screen", async () => {
    // From the conversations panel (the previous step) back to the chat, where it is open.
    await s.click(await s.wait(".conversations header button"));
    await s.wait(".chat textarea");
    const before = await s.exec("return { users: [...document.querySelectorAll('.msg.user')].map((m) => m.textContent), answers: document.querySelectorAll('.msg.assistant').length };");
    const id = await s.exec("return window.__TAURI_INTERNALS__.invoke('conversation_current');");
    assert.ok(id != null && before.users.length > 0, `a saved conversation is open: ${id}, ${JSON.stringify(before)}`);
    const idx = await s.exec("return [...document.querySelectorAll('header button')].findIndex(b => b.textContent === 'Settings');");
    await s.click((await s.findAll("header button"))[idx]);
    await s.wait(".settings #n_ctx");
    // Another context size: the model is loaded again.
    await s.exec(`const c = document.querySelector('#n_ctx');
      c.value = [...c.options].map((o) => o.value).filter((v) => v !== c.value).pop();
      c.dispatchEvent(new Event('change', { bubbles: true }));`);
    const save = await s.exec("return [...document.querySelectorAll('.settings button')].findIndex(b => b.textContent === 'Save');");
    await s.click((await s.findAll(".settings button"))[save]);
    await s.until("return !!document.querySelector('.chat textarea') && document.querySelectorAll('.msg.user').length > 0;", 120_000);
    const after = await s.exec("return { users: [...document.querySelectorAll('.msg.user')].map((m) => m.textContent), answers: document.querySelectorAll('.msg.assistant').length };");
    assert.deepEqual(after, before, "the same conversation is shown after the model was loaded again");
    assert.equal(await s.exec("return window.__TAURI_INTERNALS__.invoke('conversation_current');"), id);
    await openConversations();
  });

  await step(t, "the first conversation renamed, then deleted after the confirmation", async () => {
    const id = await firstRow();
    assert.ok(id, "the first conversation is listed");
    const row = `.conv-list li[data-id="${id}"]`;
    await s.click(await s.wait(`${row} .conv-more`));
    await s.click(await s.wait(`${row} .conv-actions button[aria-label^="Rename"]`));
    const field = await s.wait(`${row} form.conv-rename input`);
    await s.exec(`document.querySelector('${row} form.conv-rename input').value = '';`);
    await s.type(field, "My cholesterol questions");
    await s.click(await s.wait(`${row} .conv-save`));
    await s.until(`return document.querySelector('${row} .conv-title')?.textContent === 'My cholesterol questions';`, 10_000);

    await s.click(await s.wait(`${row} .conv-more`));
    await s.click(await s.wait(`${row} .conv-actions button[aria-label^="Delete"]`));
    const confirm = await s.exec("return document.querySelector('[role=alertdialog]')?.textContent ?? '';");
    assert.match(confirm, /Delete this conversation, its record and its saved cache\? This cannot be undone\./);
    await s.click(await s.wait("[role=alertdialog] button.danger"));
    await s.until(`return !document.querySelector('${row}') && !document.querySelector('[role=alertdialog]');`, 10_000);
    const titles = await s.exec("return [...document.querySelectorAll('.conv-list .conv-title')].map((t) => t.textContent);");
    assert.ok(!titles.includes("My cholesterol questions"), `deleted: ${JSON.stringify(titles)}`);
    // It was open: the chat is empty, without its record, and the model holds nothing of it.
    await s.click(await s.wait(".conversations header button"));
    await s.wait(".chat textarea");
    assert.equal(await s.exec("return document.querySelectorAll('.msg, .record-card').length;"), 0);
    assert.equal(await s.exec("return window.__TAURI_INTERNALS__.invoke('conversation_current');"), null);
    assert.equal(await s.exec("return window.__TAURI_INTERNALS__.invoke('chat_snapshot').then((v) => v.turns.length + (v.has_record ? 1 : 0));"), 0);
  });
});
