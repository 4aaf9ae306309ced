"""Render benchmark: the project's clip + stitch path against the shared baselines, in the same run.

    .venv/bin/python benchmarks/render.py WORKDIR [--skip-moviepy]

The baseline script (run with moviepy from its own .venv-bench) renders a 30 s 1080x1920 six-scene video with voice as one ffmpeg graph (the
reference) and frame by frame with moviepy, leaving its inputs (s0..s5.png, voice.wav) in WORKDIR.
The project then makes the same video its own way: the narration spoken per sentence
(EspeakSpeech, for caption timings), one FfmpegMotion clip per scene (rendered side by side, one
per core) and one FfmpegStitch pass with fades and captions. Prints one line:

    reference_s=.. moviepy_s=.. project_s=.. project_vs_reference=.. moviepy_vs_project=..

Goals: project_vs_reference <= 1.3 and moviepy_vs_project >= 5.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.base import ClipRequest, SpeechRequest, StitchRequest  # noqa: E402
from adapters.local.speech import EspeakSpeech  # noqa: E402
from adapters.local.stitch import FfmpegStitch  # noqa: E402
from adapters.local.video import FfmpegMotion  # noqa: E402

BASELINE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "render" / "render_baseline.py"
SIZE, FPS, SCENE_S = (1080, 1920), 30, 5.0
MOTIONS = ("zoom_in", "pan_right", "parallax", "zoom_out", "handheld", "zoom_in")
# The baseline's narration, one caption per sentence.
SENTENCES = ("Meet the new trail runner.", "Light, fast, and built for every mile.",
             "Grip that holds on wet rock, foam that gives back.",
             "Order today and feel the difference on your next run.")


def baseline_python() -> Path:
    """An interpreter with moviepy, kept apart from the project's (moviepy needs an older Pillow)."""
    venv = ROOT / ".venv-bench"
    python = venv / "bin" / "python"
    if not python.exists():
        uv = Path(sys.executable).parent / "uv"
        subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([str(uv), "pip", "install", "-q", "--python", str(python), "-r",
                        str(ROOT / "requirements" / "bench.txt")], check=True)
    return python


def run_baseline(workdir: Path, skip_moviepy: bool) -> dict[str, float]:
    python = sys.executable if skip_moviepy else str(baseline_python())
    command = [python, str(BASELINE), str(workdir)] + (["--skip-moviepy"] if skip_moviepy else [])
    baseline = subprocess.run(command, check=False, capture_output=True, text=True)
    if baseline.returncode != 0:
        sys.exit(f"the baseline failed ({baseline.returncode}):\n{baseline.stderr.strip()}")
    return {name: float(value) for name, value in re.findall(r"(\w+)_s=([\d.]+)", baseline.stdout)}


def render_project(workdir: Path) -> float:
    """Seconds to speak, animate and stitch the baseline's six scenes the way a job does."""
    out = workdir / "project"
    out.mkdir(exist_ok=True)
    # One clip per core at a time, each encoder on one thread: zoompan is single-threaded, so this
    # keeps both cores busy where a single ffmpeg would leave one idle.
    motion = FfmpegMotion(threads=1)
    requests = [
        ClipRequest(image=workdir / f"s{index}.png", duration_s=SCENE_S, size=SIZE, fps=FPS, motion=name,
                    seed=index, out_path=out / f"clip-{index}.mp4")
        for index, name in enumerate(MOTIONS)
    ]
    started = time.perf_counter()
    speech = EspeakSpeech().synthesize(SpeechRequest(segments=SENTENCES, voice="default", language="en",
                                                     out_path=out / "voice.wav"))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        clips = [result.path for result in pool.map(motion.animate, requests)]
    FfmpegStitch().stitch(StitchRequest(
        clips=tuple(clips), size=SIZE, fps=FPS, duration_s=SCENE_S * len(MOTIONS), out_path=out / "final.mp4",
        poster_path=out / "poster.jpg", captions_path=out / "final.srt", transition="fade", voice=speech.path,
        captions=speech.segments,
    ))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--skip-moviepy", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    baseline = run_baseline(args.workdir, args.skip_moviepy)
    project = render_project(args.workdir)

    reference = baseline["reference"]
    fields = [f"reference_s={reference:.2f}"]
    moviepy = baseline.get("moviepy")
    fields.append(f"moviepy_s={moviepy:.2f}" if moviepy else "moviepy_s=skipped")
    fields += [f"project_s={project:.2f}", f"project_vs_reference={project / reference:.2f}"]
    fields.append(f"moviepy_vs_project={moviepy / project:.2f}" if moviepy else "moviepy_vs_project=skipped")
    print(" ".join(fields))


if __name__ == "__main__":
    main()
