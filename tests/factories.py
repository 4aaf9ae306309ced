"""Builders of realistic inputs: product photos made with Pillow, products and campaigns in the DB."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw


def product_photo(size: tuple[int, int] = (640, 480), fmt: str = "PNG", exif_orientation: int | None = None) -> bytes:
    """A studio-style product shot: a bottle with a label on a light backdrop."""
    width, height = size
    image = Image.new("RGB", size, (236, 234, 230))
    draw = ImageDraw.Draw(image)
    cx = width // 2
    draw.rounded_rectangle([cx - width // 8, height // 4, cx + width // 8, height * 7 // 8], radius=width // 24, fill=(30, 90, 160))
    draw.rectangle([cx - width // 24, height // 8, cx + width // 24, height // 4], fill=(20, 20, 20))
    draw.rectangle([cx - width // 10, height // 2, cx + width // 10, height * 2 // 3], fill=(250, 250, 245))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    image.save(out, fmt, **kwargs)
    return out.getvalue()


REAL_PHOTOS = ("coffee", "astronaut", "chelsea", "rocket")


def save_real_photos(folder: Path) -> dict[str, Path]:
    """scikit-image's real photographs (a cup on a saucer, a person, a cat's face, a rocket between its
    towers) saved as PNG files, by name."""
    from skimage import data  # a test dependency; workers import this module's neighbours without it

    paths = {}
    for name in REAL_PHOTOS:
        paths[name] = folder / f"{name}.png"
        Image.fromarray(getattr(data, name)()).convert("RGB").save(paths[name])
    return paths


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit PNG of width x height that compresses to a few tens of kilobytes."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def make_product(workspace: Any, name: str = "Trail bottle", images: int = 1):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from campaigns.images import image_validate
    from campaigns.services import product_create

    validated = [
        (image_validate(SimpleUploadedFile(f"p{i}.png", product_photo((640 + i, 480)))), f"p{i}.png")
        for i in range(images)
    ]
    return product_create(
        workspace=workspace, name=name, description="A steel bottle.", link="https://example.com/bottle", images=validated
    )


def make_campaign(workspace: Any, product: Any, modes: list[str] | None = None, **settings: Any):
    from campaigns.services import campaign_create

    return campaign_create(
        workspace=workspace,
        product=product,
        name="Launch",
        prompt="Summer launch of the trail bottle",
        output_modes=modes or ["image_bundle", "fast_paced", "script_to_video", "ugc"],
        settings={
            "aspect_ratios": ["9:16"],
            "duration_s": 30,
            "scene_count": 6,
            "language": "en",
            "voice": "default",
            "call_to_action": "Shop now",
            "brand_kit": {"colors": ["#1E5AA0"], "logo": None, "font": None},
            **settings,
        },
        audience_customer_id="",
    )
