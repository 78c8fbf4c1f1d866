"""Times faster-whisper (CTranslate2) on WAV files with the same settings as murmur's greedy
decode. Prints one JSON line: {"file": ms, ...}. Run inside the bench venv."""
import json
import sys
import time

from faster_whisper import WhisperModel

model_dir, compute_type, threads, prompt = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
files = sys.argv[5:]
model = WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads)
out = {}
for f in files:
    list(model.transcribe(f, beam_size=1, language="en", initial_prompt=prompt, vad_filter=False)[0])  # warm-up
    t = time.perf_counter()
    segments, _ = model.transcribe(f, beam_size=1, language="en", initial_prompt=prompt, vad_filter=False)
    text = " ".join(s.text.strip() for s in segments)
    out[f] = {"ms": (time.perf_counter() - t) * 1000, "text": text}
print(json.dumps(out))
