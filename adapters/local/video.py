"""Camera motion on a scene still with ffmpeg: zoom, pan, parallax and handheld clips, one call each.

zoompan makes every frame from the still, cropping it at whole input pixels (and, on yuv420p,
at even ones) before scaling the crop to the frame. To keep slow moves gliding instead of
stepping, the still is upscaled SUPERSAMPLE times and split into its planes, and each plane is
zoompanned as grey: no chroma snapping, so every step is half an output pixel, at about the cost
of zoompanning yuv420p.
"""
from __future__ import annotations

import math
import random
from fractions import Fraction

from adapters.base import AdapterError, ClipRequest, ClipResult, Readiness, VideoProvider, clip_request_frames
from adapters.local.process import ffmpeg_readiness, probe, run_tool

SUPERSAMPLE = 2
# Zoom gained per second of clip and its bounds: short cuts still move, long scenes stay sharp.
ZOOM_PER_S, ZOOM_MIN, ZOOM_MAX = 0.03, 0.05, 0.15
# Share of the frame a pan travels, per second and at most.
PAN_PER_S, PAN_MIN, PAN_MAX = 0.025, 0.04, 0.10
# Handheld: how much the view is zoomed in to leave room to sway, and the sway's share of that room.
HANDHELD_ZOOM, HANDHELD_SWAY = 1.08, 0.45
# Parallax: the still as a card this wide/high in the frame, floating over a blurred copy of itself.
CARD_SCALE = 0.86
# The still's colours are converted once, as BT.709 (what players assume for HD video).
TO_YUV = "scale=out_color_matrix=bt709:out_range=tv"


class FfmpegMotion(VideoProvider):
    """Pan, zoom, parallax and handheld moves made by ffmpeg on the CPU; clips are H.264 yuv420p.

    Clips are intermediates that the stitch re-encodes, so they are written with x264's fastest
    preset at a high quality (low CRF). `threads=1` suits callers that render clips side by side.
    """

    name = "local.ffmpeg_motion"

    def __init__(self, *, preset: str = "ultrafast", crf: int = 17, threads: int = 0) -> None:
        self.preset = preset
        self.crf = crf
        self.threads = threads

    def check(self) -> Readiness:
        return ffmpeg_readiness(filters=("zoompan",), encoders=("libx264",))

    def animate(self, request: ClipRequest) -> ClipResult:
        width, height = request.size
        frames = clip_request_frames(request)

        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        graph = motion_graph(request.motion, width, height, request.fps, frames, request.seed)
        run_tool([
            "ffmpeg", "-y", "-v", "error", "-i", str(request.image),
            "-filter_complex", graph, "-map", "[out]", "-frames:v", str(frames), "-an",
            "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-threads", str(self.threads),
            "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-movflags", "+faststart", str(request.out_path),
        ])
        return measured_clip(request)


def motion_graph(motion: str, width: int, height: int, fps: int, frames: int, seed: int) -> str:
    """The filter graph from input 0 (the still) to [out]: `frames` frames of `motion`."""
    duration = frames / fps
    big_w, big_h = width * SUPERSAMPLE, height * SUPERSAMPLE
    # Cover the frame whatever the still's shape, then work on the upscaled still.
    still = (f"[0:v]scale={big_w}:{big_h}:force_original_aspect_ratio=increase:flags=lanczos,"
             f"crop={big_w}:{big_h},setsar=1")
    if motion == "parallax":
        return parallax_graph(still, width, height, fps, frames, duration)
    zoom, x, y = camera_path(motion, frames, duration, fps, seed)
    return ";".join([
        f"{still},{TO_YUV},format=yuv420p[still]",
        *zoompan_planes("still", "moved", (zoom, x, y), width, height, fps, frames),
        "[moved]setsar=1[out]",
    ])


def camera_windows(motion: str, duration: float) -> tuple[tuple[float, float, float], ...]:
    """The extreme views a move passes through, as (zoom, x share, y share of the spare room) like
    zoompan's: a still's text stays in the frame's safe area only where every one of them shows it
    (adapters.local.canvas.camera_safe_area). A zoom below 1 is the parallax card, drawn smaller."""
    zoom_amount = min(max(ZOOM_PER_S * duration, ZOOM_MIN), ZOOM_MAX)
    if motion in ("zoom_in", "zoom_out"):
        return (1.0, 0.5, 0.5), (1 + zoom_amount, 0.5, 0.5)
    if motion in ("pan_left", "pan_right"):
        zoom = 1 / (1 - min(max(PAN_PER_S * duration, PAN_MIN), PAN_MAX))
        return (zoom, 0.0, 0.5), (zoom, 1.0, 0.5)
    if motion == "handheld":
        reach = HANDHELD_SWAY / 2
        return tuple((HANDHELD_ZOOM + 0.01, 0.5 + dx, 0.5 + dy) for dx in (-reach, reach) for dy in (-reach, reach))
    if motion == "parallax":
        return (CARD_SCALE, 0.5, 0.5), (CARD_SCALE * (1 + zoom_amount), 0.5, 0.5)
    return ((1.0, 0.5, 0.5),)


def camera_path(motion: str, frames: int, duration: float, fps: int, seed: int) -> tuple[str, str, str]:
    """zoompan's zoom, x and y expressions (over the output frame number `on`) for one motion."""
    progress = eased(frames)
    centre_x, centre_y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    zoom_amount = min(max(ZOOM_PER_S * duration, ZOOM_MIN), ZOOM_MAX)
    if motion == "zoom_in":
        return f"1+{zoom_amount:.4f}*{progress}", centre_x, centre_y
    if motion == "zoom_out":
        return f"1+{zoom_amount:.4f}*(1-{progress})", centre_x, centre_y
    if motion in ("pan_left", "pan_right"):
        travel = min(max(PAN_PER_S * duration, PAN_MIN), PAN_MAX)
        # Zoomed in just enough that the window can travel `travel` of the width.
        zoom = f"{1 / (1 - travel):.5f}"
        # Panning left moves the view towards the still's left edge: the window starts on the right.
        share = f"(1-{progress})" if motion == "pan_left" else progress
        return zoom, f"(iw-iw/zoom)*{share}", centre_y
    if motion == "handheld":
        rng = random.Random(seed)
        time = f"(on/{fps})"
        # A slow breath in and out of the zoom, plus sway on each axis within the room it leaves.
        zoom = f"{HANDHELD_ZOOM}+0.01*sin(2*PI*{rng.uniform(0.12, 0.2):.3f}*{time}+{rng.uniform(0, 2 * math.pi):.3f})"
        return zoom, f"(iw-iw/zoom)*(0.5+{sway(rng, time)})", f"(ih-ih/zoom)*(0.5+{sway(rng, time)})"
    raise AdapterError(f"no camera path for motion {motion!r}", permanent=True)


def sway(rng: random.Random, time: str) -> str:
    """Smooth random drift in [-HANDHELD_SWAY/2, HANDHELD_SWAY/2]: a slow wander, a sway and a tremor.

    Sums of sines at unrelated frequencies never repeat visibly within a clip and have no
    frame-to-frame jumps, which is how a hand holding a phone moves.
    """
    layers = ((0.55, 0.15, 0.35), (0.32, 0.5, 0.9), (0.13, 1.6, 2.6))  # share of the sway, frequency range (Hz)
    terms = []
    for share, low, high in layers:
        frequency, phase = rng.uniform(low, high), rng.uniform(0, 2 * math.pi)
        terms.append(f"{HANDHELD_SWAY / 2 * share:.4f}*sin(2*PI*{frequency:.3f}*{time}+{phase:.3f})")
    return "+".join(terms)


def parallax_graph(still: str, width: int, height: int, fps: int, frames: int, duration: float) -> str:
    """2.5D: the still as a card with a soft shadow, moving towards the camera, over a blurred copy
    of itself that drifts sideways and away. Near and far layers move differently, so it reads as depth.
    """
    progress = eased(frames)
    big_w, big_h = width * SUPERSAMPLE, height * SUPERSAMPLE
    card_w, card_h = even(big_w * CARD_SCALE), even(big_h * CARD_SCALE)
    shadow_drop, shadow_blur = even(big_h * 0.012), max(2, round(big_w * 0.018))
    blur = max(2, round(width * 0.02))
    zoom_amount = min(max(ZOOM_PER_S * duration, ZOOM_MIN), ZOOM_MAX)
    far_path = (f"1.12-0.08*{progress}", f"(iw-iw/zoom)*(0.75-0.5*{progress})", "(ih-ih/zoom)/2")
    near_path = (f"1+{zoom_amount:.4f}*{progress}", "(iw-iw/zoom)/2", "(ih-ih/zoom)/2")
    return ";".join([
        f"{still},split[far][near]",
        # Far layer: blurred and dimmed (depth of field), zooming out while drifting right to left.
        # Blurred, it needs no supersampling: it is scaled back to the frame size first.
        f"[far]scale={width}:{height},boxblur=luma_radius={blur}:luma_power=2,eq=brightness=-0.08:saturation=1.15,"
        f"{TO_YUV},format=yuv420p[blurred]",
        *zoompan_planes("blurred", "back", far_path, width, height, fps, frames),
        # Near layer: the card with its shadow on a transparent canvas; zooming the canvas brings it closer.
        f"[near]scale={card_w}:{card_h}:flags=lanczos,format=rgba,split[card][silhouette]",
        f"[silhouette]geq=r=0:g=0:b=0:a=140,pad={big_w}:{big_h}:(ow-iw)/2:(oh-ih)/2+{shadow_drop}:color=black@0,"
        f"boxblur=luma_radius=0:chroma_radius=0:alpha_radius={shadow_blur}:alpha_power=2[shadow]",
        f"[shadow][card]overlay=(W-w)/2:(H-h)/2:format=rgb,{TO_YUV},format=yuva420p[canvas]",
        *zoompan_planes("canvas", "front", near_path, width, height, fps, frames, alpha=True),
        "[back][front]overlay=format=yuv420,setsar=1,format=yuv420p[out]",
    ])


def zoompan_planes(source: str, target: str, path: tuple[str, str, str], width: int, height: int, fps: int,
                   frames: int, *, alpha: bool = False) -> list[str]:
    """Filters from [source] (yuv420p, or yuva420p with `alpha`) to [target]: zoompan plane by plane.

    Grey planes are cropped at any pixel, where zoompan on yuv420p would snap to even ones. The
    chroma planes are half the size of the luma, and so is their output.
    """
    zoom, x, y = path
    planes = ("y", "u", "v", "a") if alpha else ("y", "u", "v")
    sizes = {"y": (width, height), "u": (width // 2, height // 2), "v": (width // 2, height // 2), "a": (width, height)}
    graph = [f"[{source}]extractplanes={'+'.join(planes)}" + "".join(f"[{source}_{plane}]" for plane in planes)]
    graph += [f"[{source}_{plane}]{zoompan(zoom, x, y, *sizes[plane], fps, frames)}[{target}_{plane}]"
              for plane in planes]
    mapping = "0x" + "".join(f"{index}0" for index in range(len(planes)))
    graph.append("".join(f"[{target}_{plane}]" for plane in planes)
                 + f"mergeplanes={mapping}:{'yuva420p' if alpha else 'yuv420p'}[{target}]")
    return graph


def zoompan(zoom: str, x: str, y: str, width: int, height: int, fps: int, frames: int) -> str:
    """zoompan making all `frames` frames from the single (upscaled) still it receives."""
    return f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps}"


def eased(frames: int) -> str:
    """Progress 0..1 over the clip, eased: moves start and end gently instead of at full speed."""
    linear = f"(on/{max(frames - 1, 1)})"
    return f"(0.6*{linear}+0.4*{linear}*{linear}*(3-2*{linear}))"


def even(value: float) -> int:
    return int(round(value / 2)) * 2


def measured_clip(request: ClipRequest) -> ClipResult:
    info = probe(request.out_path)
    video = next((s for s in info["streams"] if s.get("codec_type") == "video"), None)
    if video is None:
        raise AdapterError(f"ffmpeg wrote no video stream to {request.out_path}")
    fps = Fraction(video["r_frame_rate"])
    return ClipResult(
        path=request.out_path,
        duration_s=float(video.get("duration") or info["format"]["duration"]),
        fps=round(fps),
        width=int(video["width"]),
        height=int(video["height"]),
        frames=int(video["nb_frames"]),
    )
