"""IndexTTS-2.5 engine speed and memory on the real weights: load, clone, RTF, time to first audio,
peak RSS and GPU memory, all measured in one run.

Usage: INDEXTTS_MODEL_DIR=/path/to/onnx-export python bench/indextts.py [--device auto] [--runs 2]
       python bench/indextts.py --tiny     # the same wiring on a tiny random-weight model (noise, not speech)
Without weights it prints why and exits 0: they are not on this machine and nothing downloads here.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXTS = {
    "en short": "Good morning, everyone! I will be there in ten minutes.",
    "en long": ("Please remember to bring your umbrella because it might rain this afternoon. "
                "The meeting starts at three, so we still have time for lunch. "
                "Call me when you arrive at the station and I will come and pick you up."),
    "zh": "今天天气很好，我们一起去公园散步吧。明天早上再去银行办事。",
}


def gpu_memory_mib() -> str:
    """This process's GPU memory as nvidia-smi reports it, or why there is none."""
    if not shutil.which("nvidia-smi"):
        return "n/a (no nvidia-smi)"
    out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        pid, _, used = line.partition(",")
        if pid.strip() == str(os.getpid()):
            return f"{int(used)} MiB"
    return "0 MiB (not on the GPU)"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", default=os.environ.get("INDEXTTS_MODEL_DIR"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="tiny random-weight model: checks the wiring only")
    args = parser.parse_args()
    try:
        import index_tts_2_5_onnx  # noqa: F401
    except ImportError:
        print("skipped: index-tts-2.5-onnx is not installed (pip install '.[indextts]')")
        return 0
    scratch = None
    if args.tiny:
        from tests.indextts_core.backends.tiny_indextts import build_tiny_model

        scratch = tempfile.TemporaryDirectory()
        args.model_dir = str(build_tiny_model(Path(scratch.name)))
        print("TINY RANDOM MODEL: the figures below measure the wiring, not IndexTTS")
    elif not args.model_dir:
        print("skipped: set INDEXTTS_MODEL_DIR (or --model-dir) to a folder with the IndexTTS-2.5 ONNX export "
              "(about 7 GB); there are no weights on this machine")
        return 0

    from indextts_core.backends.default import DefaultEngine
    from indextts_core.backends.indextts import IndexTTSEngine
    from tests.conftest import REFERENCE_TEXT, speech_clip, wav_bytes

    reference = wav_bytes(speech_clip(DefaultEngine(), REFERENCE_TEXT, pitch_hz=190.0, formant=1.15), 22050)
    engine = IndexTTSEngine({"model_dir": args.model_dir, "device": args.device})
    t0 = time.perf_counter()
    engine.warm_up(speaker_encoder=False)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    profile = engine.create_voice(reference)
    clone_s = time.perf_counter() - t0
    print(f"device {args.device}; load {load_s:.1f} s (with the default voice); clone {clone_s:.2f} s; "
          f"profile {len(profile.payload) / 1024:.0f} KiB")
    engine.synthesize("Warm up.", voice=profile)  # first-call allocations are not the steady state
    print(f"{'text':10} {'audio s':>8} {'RTF':>6} {'first audio s':>14}")
    for label, text in TEXTS.items():
        rtfs, firsts, seconds = [], [], 0.0
        for _ in range(args.runs):
            start = time.perf_counter()
            marks: list[float] = []
            result = engine.synthesize(text, voice=profile, progress=lambda done, total: marks.append(time.perf_counter()))
            elapsed = time.perf_counter() - start
            seconds = result.duration
            rtfs.append(elapsed / result.duration)
            firsts.append(marks[0] - start)
        print(f"{label:10} {seconds:8.2f} {statistics.median(rtfs):6.3f} {statistics.median(firsts):14.2f}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mib:.0f} MiB; GPU memory {gpu_memory_mib()}")
    print("first audio = the first sentence ready (the bot sends long texts as parts, the first as soon as it is done)")
    engine.close()
    if scratch is not None:
        scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
