#!/usr/bin/env python3
"""Whisper accuracy (WER) and transcription time vs silence around the speech and the encoder window.

  python3 scripts/bench/whisper_pad.py [--murmur BIN] [--models tiny.en,base] [--out FILE.md]

For each Whisper model (tiny.en, and the multilingual base from `fetch_models.py --with-base`)
and each clip of two speech sets:
  - fixtures:  the five test sentences of tests/fixtures/make_speech.sh (espeak-ng en-us, 150 wpm);
  - questions: the spoken health questions of scripts/bench/speech_questions.txt, each spoken by
               espeak-ng in three voices/speeds (cached in ~/.cache/murmur/bench/speech-questions/);
the clip is first trimmed of espeak's own leading/trailing silence, then given PRE ms of digital
silence before the speech (pre-roll) and POST ms after it (padding), and transcribed by
`murmur --threads N --whisper-model M --stats transcribe WAV [--audio-ctx C]` with
  - the full 30 s encoder window (no --audio-ctx), or
  - a fitted window: C = ceil(samples / 320) + MARGIN frames (50 frames = 1 s), at most 1500.
The medical vocabulary hint stays on (the product's default). All variants of one clip run
back to back (interleaved), so that load from other processes spreads evenly over them.

WER = word-level Levenshtein distance summed over a set / reference words of the set, after
lowercasing, stripping punctuation, number words -> digits, and joining spelled-out letters
and digits ("A 1 C", "a one c" -> "a1c"; "L D L" -> "ldl"). Time = the CLI's own
"transcribed in" (mel + encoder + decoder, not the model load); the median over the clips.

Raw results go to a JSON-lines file (--raw; default in the bench cache), which makes a rerun
resume: finished (model, clip, variant) rows are not measured again (--fresh starts over); the
report counts only clips measured with every variant and model, so a run stopped early is fine.

Cost: 35 variants x 2 models = 70 CLI runs per clip, about 1.5 min per clip with --threads 1
(tiny.en ~0.3 s fitted / 1.2 s full, base ~0.6 s / 2.6 s, plus ~0.4 s model load per run): the
5 fixtures and 2 voices (65 clips) took 100 min on 2 busy cores. --voices 1 is a ~45 min run.
On a machine busy with other work use --threads 1: whisper.cpp's threads spin-wait for each
other, and with 2 threads on 2 loaded cores a run took 5-55x longer (same transcripts).
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.expanduser(os.environ.get("MURMUR_CACHE", "~/.cache/murmur"))
RATE = 16000
VOICES = [("en-us", 150), ("en-gb", 170), ("en-us+f3", 140)]
PADS = [(0, 0), (250, 250), (500, 500), (1000, 1000), (500, 0), (0, 500), (250, 500)]
MARGINS = ["full", 0, 32, 64, 128]
TRIM = ["silence", "1", "0.02", "1%", "reverse", "silence", "1", "0.02", "1%", "reverse"]
STATS_RE = re.compile(r"\[stats\] audio (\d+) ms, transcribed in (\d+) ms")


def log(msg):
    print(f"whisper-pad: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Text normalisation and WER
# ---------------------------------------------------------------------------
UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i >= 2}


def words_to_digits(tokens):
    """'one hundred twenty six' -> '126', 'six point eight' -> '6.8', 'one thousand' -> '1000'."""
    out, i = [], 0

    def number_at(j):
        """Parse an integer spelled out from tokens[j:]; return (value, next index) or None."""
        total, current, k, seen = 0, 0, j, False
        while k < len(tokens):
            t = tokens[k]
            if t in UNITS:
                current += UNITS[t]
            elif t in TENS:
                current += TENS[t]
            elif t == "hundred" and seen:
                current *= 100
            elif t == "thousand" and seen:
                total += current * 1000
                current = 0
            elif t == "and" and seen and tokens[k - 1] in ("hundred", "thousand") and k + 1 < len(tokens) \
                    and (tokens[k + 1] in UNITS or tokens[k + 1] in TENS):
                pass
            else:
                break
            seen = True
            k += 1
        return (total + current, k) if seen else None

    while i < len(tokens):
        if tokens[i] in UNITS or tokens[i] in TENS:
            value, k = number_at(i)
            text = str(value)
            # decimals: "six point eight" -> 6.8
            if k + 1 < len(tokens) and tokens[k] == "point" and tokens[k + 1] in UNITS and UNITS[tokens[k + 1]] < 10:
                digits = []
                k += 1
                while k < len(tokens) and tokens[k] in UNITS and UNITS[tokens[k]] < 10:
                    digits.append(str(UNITS[tokens[k]]))
                    k += 1
                text += "." + "".join(digits)
            out.append(text)
            i = k
        else:
            out.append(tokens[i])
            i += 1
    return out


def normalise(text):
    t = text.lower()
    t = t.replace("%", " percent ")
    t = re.sub(r"(?<=\d),(?=\d{3})", "", t)             # 1,000 -> 1000
    t = re.sub(r"(?<=\d)\.(?=\d)", "<DOT>", t)           # keep decimal points
    t = t.replace("-", " ")
    t = re.sub(r"[^\w\s<>]", " ", t).replace("<dot>", ".").replace("<DOT>", ".")
    t = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", t)  # a1c -> a 1 c (joined again below)
    tokens = words_to_digits(t.split())
    # join runs of single letters/digits, i.e. spelled-out abbreviations: l d l -> ldl, a 1 c -> a1c.
    # A lone "a"/"i" (article, pronoun) is not joined; one before a spelled-out abbreviation
    # stays a word ("a c t scan" -> "a ct scan") unless a digit follows it ("a 1 c" -> "a1c").
    out, run = [], []

    def flush():
        if len(run) >= 3 and run[0] in ("a", "i") and not run[1].isdigit():
            out.append(run.pop(0))
        if len(run) >= 2 and any(r not in ("a", "i") for r in run):
            out.append("".join(run))
        else:
            out.extend(run)
        run.clear()

    for tok in tokens:
        if len(tok) == 1 and tok.isalnum():
            run.append(tok)
        else:
            flush()
            out.append(tok)
    flush()
    return out


def edit_ops(ref, hyp):
    """Word-level Levenshtein: (substitutions, deletions, insertions)."""
    n, m = len(ref), len(hyp)
    d = [[(0, 0, 0, 0)] * (m + 1) for _ in range(n + 1)]  # (cost, sub, del, ins)
    for i in range(1, n + 1):
        d[i][0] = (i, 0, i, 0)
    for j in range(1, m + 1):
        d[0][j] = (j, 0, 0, j)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if ref[i - 1] == hyp[j - 1]:
                d[i][j] = d[i - 1][j - 1]
                continue
            c, s, de, ins = d[i - 1][j - 1]
            best = (c + 1, s + 1, de, ins)
            c, s, de, ins = d[i - 1][j]
            if c + 1 < best[0]:
                best = (c + 1, s, de + 1, ins)
            c, s, de, ins = d[i][j - 1]
            if c + 1 < best[0]:
                best = (c + 1, s, de, ins + 1)
            d[i][j] = best
    _, s, de, ins = d[n][m]
    return s, de, ins


# ---------------------------------------------------------------------------
# Speech sets
# ---------------------------------------------------------------------------

def sh(cmd, **kw):
    r = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"whisper-pad: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def trimmed(src, dst):
    """16 kHz mono 16-bit copy of src without leading/trailing silence (made once)."""
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
        return dst
    tmp = dst + ".tmp.wav"
    sh(["sox", "-R", src, "-r", str(RATE), "-c", "1", "-b", "16", tmp, *TRIM])
    os.replace(tmp, dst)
    return dst


def fixture_clips(speech_dir, cache):
    out_dir = os.path.join(cache, "speech-fixtures-trimmed")
    os.makedirs(out_dir, exist_ok=True)
    clips = []
    for i in range(1, 6):
        wav = os.path.join(speech_dir, f"sentence{i}.wav")
        with open(os.path.join(speech_dir, f"sentence{i}.txt")) as f:
            ref = f.read().strip()
        clips.append(dict(set="fixtures", id=f"sentence{i}", ref=ref,
                          wav=trimmed(wav, os.path.join(out_dir, f"sentence{i}.wav"))))
    return clips


def question_clips(questions_file, cache, voices=VOICES):
    out_dir = os.path.join(cache, "speech-questions")
    os.makedirs(out_dir, exist_ok=True)
    with open(questions_file) as f:
        questions = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    clips = []
    # voice by voice, so that a run stopped early has whole voices (it resumes where it stopped)
    for voice, speed in voices:
        for qi, q in enumerate(questions, 1):
            name = f"q{qi:02d}_{voice.replace('+', '_')}_{speed}"
            wav = os.path.join(out_dir, name + ".wav")
            txt = os.path.join(out_dir, name + ".txt")
            # (re)speak when missing or when the question text changed
            if not os.path.exists(wav) or not os.path.exists(txt) or open(txt).read().strip() != q:
                raw = os.path.join(out_dir, f".{name}.raw.wav")
                sh(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, q])
                tmp = wav + ".tmp.wav"
                sh(["sox", "-R", raw, "-r", str(RATE), "-c", "1", "-b", "16", tmp, *TRIM])
                os.replace(tmp, wav)
                os.unlink(raw)
                with open(txt, "w") as f:
                    f.write(q + "\n")
            clips.append(dict(set=f"q {voice} {speed}", id=name, ref=q, wav=wav))
    return clips


def read_pcm(path):
    with wave.open(path) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return w.readframes(w.getnframes())


def write_padded(pcm, pre_ms, post_ms, path):
    silence = lambda ms: b"\0\0" * (RATE * ms // 1000)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(silence(pre_ms) + pcm + silence(post_ms))
    return (len(pcm) // 2) + RATE * (pre_ms + post_ms) // 1000


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

def setup_env(with_base):
    """The test models and fixture speech, as tests/fixtures/setup.sh prints them."""
    args = ["bash", os.path.join(ROOT, "tests", "fixtures", "setup.sh")] + (["--with-base"] if with_base else [])
    env = {}
    for line in sh(args).splitlines():
        m = re.match(r"export (\w+)=(.*)", line)
        if m:
            env[m.group(1)] = m.group(2)
    return env


def transcribe(murmur, model, wav, audio_ctx, threads):
    cmd = [murmur, "--threads", str(threads), "--whisper-model", model, "--stats", "transcribe", wav]
    if audio_ctx is not None:
        cmd += ["--audio-ctx", str(audio_ctx)]
    t0 = time.monotonic()
    r = subprocess.run(cmd, text=True, capture_output=True, timeout=300)
    wall_ms = (time.monotonic() - t0) * 1000
    m = STATS_RE.search(r.stderr)
    err = None
    if r.returncode != 0 and "no speech found" not in r.stderr:
        err = r.stderr.strip()[-300:]
    return dict(hyp=r.stdout.strip(), ms=float(m.group(2)) if m else None, wall_ms=round(wall_ms), error=err,
                no_speech="no speech found" in r.stderr)


def variant_key(pre, post, margin):
    return f"pre{pre}/post{post}/{'full' if margin == 'full' else f'fit+{margin}'}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--murmur", default=os.environ.get("MURMUR_BIN", os.path.join(CACHE, "target", "debug", "murmur")),
                    help="the murmur CLI (copy it somewhere stable if a build may replace it)")
    ap.add_argument("--models", default="tiny.en,base", help="comma-separated: tiny.en, base")
    ap.add_argument("--sets", default="fixtures,questions")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--questions", default=os.path.join(HERE, "speech_questions.txt"))
    ap.add_argument("--pads", default=",".join(f"{a}:{b}" for a, b in PADS), help="PRE:POST ms, comma-separated")
    ap.add_argument("--margins", default=",".join(map(str, MARGINS)), help="'full' and/or fitted margins in frames")
    ap.add_argument("--voices", type=int, default=len(VOICES),
                    help=f"speak the questions in the first N of {', '.join(f'{v} {s}' for v, s in VOICES)}")
    ap.add_argument("--limit", type=int, help="at most this many clips per set (a smoke run)")
    ap.add_argument("--raw", default=os.path.join(CACHE, "bench", "whisper-pad", "results.jsonl"))
    ap.add_argument("--fresh", action="store_true", help="forget earlier raw results")
    ap.add_argument("--report-only", action="store_true", help="write the report from the raw results")
    ap.add_argument("--out", default="/tmp/whisper_pad_results.md")
    args = ap.parse_args()

    models = args.models.split(",")
    pads = [tuple(int(x) for x in p.split(":")) for p in args.pads.split(",")]
    margins = [m if m == "full" else int(m) for m in args.margins.split(",")]
    bench_cache = os.path.join(CACHE, "bench")
    env = setup_env("base" in models)
    model_paths = {"tiny.en": env["MURMUR_TEST_WHISPER"], "base": env.get("MURMUR_TEST_WHISPER_BASE")}
    clips = []
    if "fixtures" in args.sets:
        clips += fixture_clips(env["MURMUR_TEST_SPEECH"], bench_cache)[:args.limit]
    if "questions" in args.sets:
        qs = question_clips(args.questions, bench_cache, VOICES[:args.voices])
        clips += [c for v in dict.fromkeys(c["set"] for c in qs) for c in [c for c in qs if c["set"] == v][:args.limit]]
    log(f"{len(clips)} clips, {len(pads)} pads x {len(margins)} windows, models {models}")

    os.makedirs(os.path.dirname(args.raw), exist_ok=True)
    if args.fresh and os.path.exists(args.raw):
        os.unlink(args.raw)
    done = {}
    if os.path.exists(args.raw):
        with open(args.raw) as f:
            for line in f:
                r = json.loads(line)
                done[(r["model"], r["clip"], r["variant"])] = r

    if not args.report_only:
        if not os.access(args.murmur, os.X_OK):
            raise SystemExit(f"whisper-pad: no murmur CLI at {args.murmur} (--murmur)")
        work = os.path.join(bench_cache, "whisper-pad", "wav")
        os.makedirs(work, exist_ok=True)
        total = len(models) * len(clips) * len(pads) * len(margins)
        n, t_start = 0, time.monotonic()
        with open(args.raw, "a") as raw:
            # clip by clip, every model and variant of a clip back to back: load from other
            # processes spreads over all of them, and a run stopped early compares like with like
            for clip in clips:
                pcm = read_pcm(clip["wav"])
                for model in models:
                    for pre, post in pads:
                        wav = os.path.join(work, "clip.wav")
                        samples = write_padded(pcm, pre, post, wav)
                        for margin in margins:
                            n += 1
                            key = variant_key(pre, post, margin)
                            if (model, clip["id"], key) in done:
                                continue
                            ctx = None if margin == "full" else min(1500, math.ceil(samples / 320) + margin)
                            r = transcribe(args.murmur, model_paths[model], wav, ctx, args.threads)
                            ref_w, hyp_w = normalise(clip["ref"]), normalise(r["hyp"])
                            s, d, i = edit_ops(ref_w, hyp_w)
                            row = dict(model=model, set=clip["set"], clip=clip["id"], variant=key, pre=pre,
                                       post=post, margin=margin, audio_ctx=ctx, samples=samples, ref=clip["ref"],
                                       n_ref=len(ref_w), sub=s, dele=d, ins=i, threads=args.threads, **r)
                            raw.write(json.dumps(row) + "\n")
                            raw.flush()
                            done[(model, clip["id"], key)] = row
                            if r["error"]:
                                log(f"error {model} {clip['id']} {key}: {r['error']}")
                            if n % 50 == 0:
                                el = time.monotonic() - t_start
                                log(f"{n}/{total} runs, {el / 60:.1f} min")
    write_report(args, models, clips, pads, margins, done)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def wer(rows):
    ref = sum(r["n_ref"] for r in rows)
    return 100.0 * sum(r["sub"] + r["dele"] + r["ins"] for r in rows) / ref if ref else float("nan")


def wer_capped(rows):
    """As wer(), with each clip's edits capped at its reference length: a clip whose transcript
    loops ("... mean? What does ... mean?") counts as 100 %, not 300 %."""
    ref = sum(r["n_ref"] for r in rows)
    return 100.0 * sum(min(r["sub"] + r["dele"] + r["ins"], r["n_ref"]) for r in rows) / ref if ref else float("nan")


def loops(r):
    """A transcript half as long again as the reference: repeated or invented text."""
    return len(normalise(r["hyp"])) >= 1.5 * r["n_ref"]


def window_name(margin):
    return "full" if margin == "full" else f"fit+{margin}"


def write_report(args, models, all_clips, pads, margins, done):
    # only clips with every variant measured for every model (a run stopped early)
    keys = [variant_key(*p, m) for p in pads for m in margins]
    clips = [c for c in all_clips if all((mo, c["id"], k) in done for mo in models for k in keys)]
    sets = list(dict.fromkeys(c["set"] for c in clips))
    threads = sorted({r.get("threads", args.threads) for r in done.values()})

    def rows_of(model, pad_list, margin_list):
        return [done[(model, c["id"], variant_key(*p, m))] for c in clips for p in pad_list for m in margin_list]

    def median_ms(rows):
        ms = [r["ms"] for r in rows if r["ms"] is not None]
        return statistics.median(ms) if ms else float("nan")

    lines = ["# Whisper: pre-roll / padding and encoder window vs WER and time", "",
             "Command: `python3 scripts/bench/whisper_pad.py " + " ".join(sys.argv[1:]) + "`", "",
             f"Clips measured with every variant and model: {len(clips)} of {len(all_clips)}; by set: "
             + ", ".join(f"{s}: {sum(c['set'] == s for c in clips)}" for s in sets)
             + "; reference words: "
             + ", ".join(f"{s}: {sum(len(normalise(c['ref'])) for c in clips if c['set'] == s)}" for s in sets), "",
             "WER = (substitutions + deletions + insertions) / reference words, summed over the clips. "
             "capped = the same with each clip's edits capped at its length (a looping transcript counts "
             "100 %, not 300 %). loops = clips whose transcript has >= 1.5x the reference's words (repeated or invented text). "
             f"ms = median over the clips of the CLI's 'transcribed in' (threads {','.join(map(str, threads))}). "
             "Window: full = 1500 frames (30 s); fit+M = ceil(samples/320)+M frames (50 frames = 1 s).", ""]
    for model in models:
        lines += [f"## {model}", "",
                  "| pre ms | post ms | window | " + " | ".join(f"WER {s} %" for s in sets)
                  + " | **WER all %** | capped % | sub | del | ins | loops | median ms | median ctx |",
                  "|---:|---:|---|" + "---:|" * (len(sets) + 8)]
        summary = []
        for pre, post in pads:
            for margin in margins:
                rows = rows_of(model, [(pre, post)], [margin])
                if not rows:
                    continue
                per_set = [wer([r for r in rows if r["set"] == s]) for s in sets]
                ctxs = [r["audio_ctx"] or 1500 for r in rows]
                w = wer(rows)
                summary.append((w, wer_capped(rows), variant_key(pre, post, margin)))
                lines.append(f"| {pre} | {post} | {window_name(margin)} | "
                             + " | ".join(f"{x:.1f}" for x in per_set)
                             + f" | **{w:.1f}** | {wer_capped(rows):.1f} | {sum(r['sub'] for r in rows)}"
                             f" | {sum(r['dele'] for r in rows)} | {sum(r['ins'] for r in rows)}"
                             f" | {sum(map(loops, rows))} | {median_ms(rows):.0f}"
                             f" | {statistics.median(ctxs):.0f} |")
        if not summary:
            continue
        for title, fn in (("WER all %", wer), ("capped WER %", wer_capped)):
            lines += ["", f"{model}, {title}: pads (pre/post ms) x window", "",
                      "| pads | " + " | ".join(window_name(m) for m in margins) + " | all windows |",
                      "|---|" + "---:|" * (len(margins) + 1)]
            for p in pads:
                lines.append(f"| {p[0]}/{p[1]} | " + " | ".join(f"{fn(rows_of(model, [p], [m])):.1f}" for m in margins)
                             + f" | {fn(rows_of(model, [p], margins)):.1f} |")
            lines.append("| all pads | " + " | ".join(f"{fn(rows_of(model, pads, [m])):.1f}" for m in margins)
                         + f" | {fn(rows_of(model, pads, margins)):.1f} |")
        lines.append("| loops (all pads) | " + " | ".join(str(sum(map(loops, rows_of(model, pads, [m]))))
                                                        for m in margins) + " | |")
        lines.append("| median ms (all pads) | " + " | ".join(f"{median_ms(rows_of(model, pads, [m])):.0f}"
                                                            for m in margins) + " | |")
        summary.sort()
        lines += ["", f"Lowest WER ({model}): " + ", ".join(f"{k} {w:.1f} % (capped {c:.1f})" for w, c, k in summary[:6]),
                  "", f"Worst transcripts ({model}):", ""]
        rows = rows_of(model, pads, margins)
        rows.sort(key=lambda r: -(r["sub"] + r["dele"] + r["ins"]))
        for r in rows[:10]:
            hyp = r["hyp"] if len(r["hyp"]) < 240 else r["hyp"][:240] + " ..."
            lines.append(f"- {r['clip']} {r['variant']}: {r['sub']}S {r['dele']}D {r['ins']}I — "
                         f"ref: \"{r['ref']}\" — hyp: \"{hyp}\"" + (f" — error: {r['error']}" if r["error"] else ""))
        lines.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
