"""Tests of the benchmark driver's pure parts (scripts/bench/run.py): no binary, no model.

  python3 -m unittest discover -s scripts/bench -p 'test_*.py'
"""
import copy
import json
import math
import os
import struct
import sys
import tempfile
import unittest
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402


def followup_rows(scale=1.0, targets=(0, 250, 1000, 2000, 3500)):
    return [{"target": t, "history_tokens": max(290, t), "ttft_reuse_ms": [scale * (100 + t / 10)] * 3,
             "ttft_full_ms": [10.0 * (100 + t)] * 3} for t in targets]


def voice_rows(first=(480, 500, 520, 560, 650)):
    return [{"target": t, "history_tokens": t, "question_s": 4.49, "to_final_ms": 300.0, "to_first_token_ms": f,
             "runs_final_ms": [300.0, 310.0, 290.0], "runs_first_token_ms": [f, f + 10, f - 10], "prefilled_tokens": [5.0, 5.0, 5.0],
             "release_after_ms": 100,
             "profile": {"stop_to_final_ms": [200.0, 210.0], "whisper_ms": [190.0, 195.0], "final_to_first_token_ms": [300.0, 310.0],
                         "send_to_first_token_ms": [290.0, 300.0], "prefill_ms": [280.0, 285.0]}}
            for t, f in zip((0, 250, 1000, 2000, 3500), first)]


def memory(peak, files=543.0, **kw):
    return {"peak_rss_mib": peak, "model_files_mib": files, "read_bandwidth_gbps": 40.0, "decode_ceiling_tok_s": 80.0, **kw}


def new_results():
    """A results dict shaped as a full run writes it (two models, every section)."""
    models = {}
    for name in ("0.5b", "1.5b"):
        levers = [{"key": k, "label": lbl, "flags": f, **memory(900 - 100 * i)} for i, (k, lbl, f) in enumerate(run.MEMORY_LEVERS)]
        draft_rows = [{"group": "record", "label": f"report-00{i}.txt explain", "identical": True,
                       "off": {"decode_tok_s": 30.0, "drafted_tokens": 0, "accepted_tokens": 0},
                       "on": {"decode_tok_s": 45.0, "drafted_tokens": 80, "accepted_tokens": 60}} for i in (1, 2)]
        draft_rows.append({"group": "open", "label": "How do I read a lab report?", "identical": False, "first_difference": 3,
                           "answer_off": "abcdef", "answer_on": "abcxyz",
                           "off": {"decode_tok_s": 30.0, "drafted_tokens": 0, "accepted_tokens": 0},
                           "on": {"decode_tok_s": 29.5, "drafted_tokens": 10, "accepted_tokens": 1}})
        models[name] = {
            "file": f"{name}.gguf", "bytes": 1,
            "murmur": {"pp256": [260.0, 262.0], "pp1024": [240.0, 241.0], "tg128": [49.0, 48.0]},
            "llama_bench": {"pp256": [261.0, 263.0], "pp1024": [239.0, 240.0], "tg128": [49.5, 49.0]},
            "murmur_norepack": {"pp256": [150.0, 151.0], "pp1024": [140.0, 141.0], "tg128": [49.0, 48.5]},
            "llama_bench_norepack": {"pp256": [152.0, 150.0], "pp1024": [139.0, 141.0], "tg128": [49.2, 49.1]},
            "llm_meta": {"n_batch": 512, "n_ubatch": None, "repack": True, "prefill_ahead": True},
            "memory_levers": levers, "memory": levers[1],
            "followup": followup_rows(), "followup_no_ahead": followup_rows(1.3),
            "draft": {"max_tokens": 192, "seed": 11, "rows": draft_rows, "summary": run.draft_summary(draft_rows)},
        }
    whisper = {f"speech_{n}s.wav": {"audio_s": float(n), "audio_ctx": run.fitted_audio_ctx(n * 16000), "murmur": [200.0 + n],
                                    "murmur_full": [450.0 + n], "whisper_cli": [780.0], "whisper_cli_ac": [300.0],
                                    "faster_whisper_f32": [450.0], "faster_whisper_int8": [330.0]} for n in (3, 10, 30)}
    levers = {k: {"label": lbl, "flags": g + v, "rows": voice_rows()} for k, lbl, g, v in run.VOICE_VARIANTS}
    return {"machine": {"cpu": "AMD EPYC", "cores": 2, "ram_gib": 23.5, "os": "Linux", "date": "2026-11-29",
                        "ggml_system_info": "system: CPU : AVX2 = 1 | REPACK = 1 |"},
            "threads": 2, "runs": 3, "models": models, "whisper": whisper,
            "voice_path": {n: voice_rows()[0] for n in ("0.5b", "1.5b")}, "voice_levers": {n: levers for n in ("0.5b", "1.5b")},
            "sections": {s: {"date": "2026-11-29", "runs": 3, "models": ["0.5b", "1.5b"]} for s in run.SECTIONS}}


def old_results():
    """A benchmarks.json as written before the levers (issue 11)."""
    models = {n: {"file": f"{n}.gguf", "bytes": 1, "murmur": {"pp256": [268.0], "pp1024": [240.0], "tg128": [48.9]},
                  "llama_bench": {"pp256": [270.0], "pp1024": [238.0], "tg128": [49.6]}, "followup": followup_rows(),
                  "memory": memory(2072.0, 1140.0)} for n in ("0.5b", "1.5b")}
    return {"machine": {"cpu": "AMD EPYC", "cores": 2, "ram_gib": 23.5, "os": "Linux", "date": "2026-11-21",
                        "ggml_system_info": "system: CPU : AVX2 = 1 | AVX512 = 1 | REPACK = 1 |"},
            "threads": 2, "runs": 5, "models": models,
            "whisper": {"speech_3s.wav": {"audio_s": 3.0, "murmur": [457.0], "whisper_cli": [786.0], "faster_whisper_f32": [450.0],
                                          "faster_whisper_int8": [338.0]}},
            "voice_path": {"1.5b": {"question_s": 4.49, "runs_final_ms": [692.0], "runs_first_token_ms": [1076.0],
                                    "to_final_ms": 692.0, "to_first_token_ms": 1076.0}}}


class Helpers(unittest.TestCase):
    def test_fitted_audio_ctx_is_murmurs_formula(self):
        self.assertEqual(run.fitted_audio_ctx(3 * 16000), 278)  # 150 + 128
        self.assertEqual(run.fitted_audio_ctx(10 * 16000), 628)
        self.assertEqual(run.fitted_audio_ctx(10 * 16000 + 1), 629)  # a started frame counts
        self.assertEqual(run.fitted_audio_ctx(30 * 16000), 1500)
        self.assertEqual(run.fitted_audio_ctx(71838), 353)  # the question: ceil(224.5) + 128

    def test_wav_samples_at_16k(self):
        with tempfile.TemporaryDirectory() as tmp:
            for rate, channels, frames in ((16000, 1, 48000), (44100, 2, 44100)):
                p = os.path.join(tmp, f"{rate}.wav")
                with wave.open(p, "wb") as w:
                    w.setnchannels(channels)
                    w.setsampwidth(2)
                    w.setframerate(rate)
                    w.writeframes(b"\0\0" * channels * frames)
                self.assertEqual(run.wav_samples_16k(p), round(frames * 16000 / rate))
            # A float WAV with an extra chunk before the data (Python's wave cannot read it).
            p = os.path.join(tmp, "float.wav")
            fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
            data = b"\0" * 4 * 1000
            body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", 3) + b"abc\0" + b"data" + struct.pack("<I", len(data)) + data
            with open(p, "wb") as f:
                f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
            self.assertEqual(run.wav_samples_16k(p), 1000)
            with open(os.path.join(tmp, "x.wav"), "wb") as f:
                f.write(b"not a wav at all")
            with self.assertRaises(ValueError):
                run.wav_samples_16k(os.path.join(tmp, "x.wav"))

    def test_llama_bench_rows_and_test_order(self):
        rows = [{"n_prompt": 256, "n_gen": 0, "avg_ts": 1.0}, {"n_prompt": 1024, "n_gen": 0, "avg_ts": 2.0}, {"n_prompt": 0, "n_gen": 128, "avg_ts": 3.0}]
        speeds = run.lb_speeds(rows)
        self.assertEqual(speeds, {"pp256": 1.0, "pp1024": 2.0, "tg128": 3.0})
        self.assertEqual(run.speed_keys({"tg128": 0, "pp1024": 0, "pp256": 0}), ["pp256", "pp1024", "tg128"])

    def test_followup_runs_merge_and_base_row(self):
        a, b = followup_rows(1.0), followup_rows(2.0)
        merged = run.merge_followup([a, b])
        self.assertEqual([r["target"] for r in merged], [0, 250, 1000, 2000, 3500])
        self.assertEqual(len(merged[1]["ttft_reuse_ms"]), 6)
        self.assertEqual(run.followup_base(a), 125.0)  # the 250-token row, not turn 2
        self.assertEqual(run.followup_base(followup_rows(targets=(0, 100))), 110.0)
        with self.assertRaises(ValueError):
            run.merge_followup([a, followup_rows(targets=(0, 100))])

    def test_draft_summary(self):
        s = run.draft_summary(new_results()["models"]["0.5b"]["draft"]["rows"])
        self.assertEqual(s["record"]["n"], 2)
        self.assertAlmostEqual(s["record"]["ratio"], 1.5)
        self.assertAlmostEqual(s["record"]["acceptance"], 0.75)
        self.assertEqual(s["record"]["identical"], 2)
        self.assertEqual(s["open"]["identical"], 0)
        self.assertEqual(run.first_difference("abcdef", "abcxyz"), 3)
        self.assertEqual(run.first_difference("abc", "abcd"), 3)

    def test_previous_from_a_file_before_the_levers(self):
        prev = run.previous_of(old_results())
        self.assertEqual(prev["machine"]["date"], "2026-11-21")
        self.assertEqual(prev["models"]["1.5b"]["memory_levers"]["before"]["peak_rss_mib"], 2072.0)
        self.assertEqual(prev["whisper"]["speech_3s.wav"]["murmur_full"], [457.0])
        self.assertIsNone(prev["whisper"]["speech_3s.wav"]["murmur_fitted"])
        self.assertEqual(prev["voice_path"]["1.5b"]["runs_first_token_ms"], [1076.0])
        # A later file keeps its previous part, unless a new baseline is asked for.
        later = {**new_results(), "previous": prev}
        self.assertIs(run.previous_of(later), prev)
        base = run.previous_of(later, new_baseline=True)
        self.assertEqual(base["machine"]["date"], "2026-11-29")
        self.assertEqual(base["whisper"]["speech_3s.wav"]["murmur_full"], [453.0])
        self.assertEqual(set(base["models"]["0.5b"]["memory_levers"]), {k for k, _, _ in run.MEMORY_LEVERS})
        self.assertIsNone(run.previous_of(None))

    def test_hand_written_sections_are_put_back_where_they_were(self):
        old = ("# Benchmarks\n\nintro\n\n## " + run.T_FOLLOWUP + "\n\nold table\n\n## Saved conversations\n\nby hand\n\n"
               "## " + run.T_WHISPER + "\n\nold whisper\n\n## Goals not met\n\nold notes\n\n## Tail by hand\n\ntail\n")
        notes = "## Goals not met\n\nnew notes\n"
        sections = [(run.T_FOLLOWUP, f"## {run.T_FOLLOWUP}\n\nnew table\n"), (run.T_AHEAD, f"## {run.T_AHEAD}\n\nahead\n"),
                    (run.T_WHISPER, f"## {run.T_WHISPER}\n\nnew whisper\n")]
        text = run.assemble("# Benchmarks\n\nnew intro\n", sections, notes, old)
        order = [text.index(s) for s in ("new intro", "new table", "ahead", "by hand", "new whisper", "tail", "new notes")]
        self.assertEqual(order, sorted(order))
        for gone in ("old table", "old whisper", "old notes"):
            self.assertNotIn(gone, text)
        self.assertEqual(text.count("## Saved conversations"), 1)
        # Titles of generated sections not written this time are not taken for hand-written ones.
        old2 = old.replace("## " + run.T_FOLLOWUP, "## " + run.T_DRAFT)
        self.assertNotIn("old table", run.assemble("# B\n", sections[1:], notes, old2))


class Report(unittest.TestCase):
    def write(self, results):
        with tempfile.TemporaryDirectory() as tmp:
            run.write_report(copy.deepcopy(results), out_dir=tmp)
            with open(os.path.join(tmp, "BENCHMARKS.md")) as f:
                return f.read()

    def test_full_results_with_previous(self):
        r = new_results()
        r["previous"] = run.previous_of(old_results())
        text = self.write(r)
        for title in run.GENERATED_TITLES:
            self.assertIn(f"## {title}\n", text)
        self.assertIn("another CPU", text)  # AVX512 then, not now
        self.assertIn("then only: AVX512", text)
        self.assertIn("| 2072 |", text)  # the previous peak beside the before row
        self.assertIn("Drafting changed 2 answer(s)", text)
        self.assertIn("| 1.5b | 290 (250) | 125 | 162 | 125 | 1.00 | ✅ | 1.00 |", text)
        self.assertIn("| 1.5b | 3500 (3500) | 450 | 585 | 450 | 3.60 | ❌ | 3.60 |", text)
        # The breakdown after the stop: from the stop = from the end of the audio less the wait.
        self.assertIn("| 1.5b | now, stopped 1.5 s after | 205 | 192 | 305 | 295 | 282 | 5 | 380 |", text)
        # The history goal is against the 250-token conversation: 650 / 500 = 1.30 fails.
        self.assertRegex(text, r"\| 1\.5b \| 3500 \(~3500\) \|[^\n]*\| 1\.30 \| ❌ \|")
        self.assertRegex(text, r"\| 1\.5b \| 2000 \(~2000\) \|[^\n]*\| 1\.12 \| ✅ \|")
        self.assertNotIn("nan", text)

    def test_results_from_before_the_levers(self):
        text = self.write(old_results())
        for title in (run.T_LLM, run.T_FOLLOWUP, run.T_WHISPER, run.T_VOICE, run.T_MEMORY):
            self.assertIn(f"## {title}\n", text)
        for title in (run.T_REPACK, run.T_AHEAD, run.T_VOICE_LEVERS, run.T_VOICE_PROFILE, run.T_MEMORY_LEVERS, run.T_DRAFT):
            self.assertNotIn(f"## {title}\n", text)

    def test_a_subset_of_sections_is_labelled(self):
        r = new_results()
        r["sections"] = {"draft": {"date": "2026-11-30", "runs": 1, "models": ["0.5b"]}}
        text = self.write(r)
        self.assertIn("**Sections measured:** draft 2026-11-30 (1 runs, 0.5b)", text)

    def test_json_round_trip(self):
        r = new_results()
        self.assertEqual(self.write(json.loads(json.dumps(r))), self.write(r))


if __name__ == "__main__":
    unittest.main()
