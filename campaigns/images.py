"""Validation of uploaded product images, logos and fonts: by content, never by name."""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageFile, ImageFont, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
MAX_FONT_BYTES = 8 * 1024 * 1024
_EXIF_ORIENTATION = 0x0112


class UploadRejected(Exception):
    """An upload that cannot be accepted; the message is shown to the client as is."""


@dataclass(frozen=True)
class ValidatedImage:
    content: bytes
    format: str
    extension: str
    width: int
    height: int
    sha256: str


@dataclass(frozen=True)
class ValidatedFont:
    content: bytes
    extension: str
    sha256: str


def _read_bounded(upload: UploadedFile, limit: int) -> bytes:
    if upload.size is not None and upload.size > limit:
        raise UploadRejected(f"The file is {upload.size} bytes; the limit is {limit} bytes.")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(f"The file is larger than the limit of {limit} bytes.")
    if not data:
        raise UploadRejected("The file is empty.")
    return data


def image_validate(upload: UploadedFile) -> ValidatedImage:
    """Accept a PNG, JPEG or WebP that decodes completely, within the byte and pixel limits.

    EXIF orientation is applied (the stored pixels are upright); otherwise the bytes are kept.
    """
    assert not ImageFile.LOAD_TRUNCATED_IMAGES, "truncated images must be refused, not padded"
    data = _read_bounded(upload, settings.ADFAME_MAX_IMAGE_BYTES)
    max_pixels = settings.ADFAME_MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        # Pillow warns (and above twice its limit, raises) on decompression bombs: both refuse.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadRejected(
                f"The image has too many pixels (decompression bomb check); the limit is {max_pixels} pixels."
            ) from None
        except UnidentifiedImageError:
            raise UploadRejected("The file is not a PNG, JPEG or WebP image.") from None
        if probe.format not in ACCEPTED_FORMATS:
            raise UploadRejected(f"The file is a {probe.format} image; only PNG, JPEG and WebP are accepted.")
        width, height = probe.size
        if width * height > max_pixels:
            raise UploadRejected(
                f"The image is {width}x{height} ({width * height} pixels); the limit is {max_pixels} pixels."
            )
        if getattr(probe, "n_frames", 1) > 1:
            raise UploadRejected("Animated images are not accepted; upload a still image.")
        try:
            probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise UploadRejected(f"The image is damaged or truncated and cannot be decoded ({exc}).") from None

    image_format = image.format
    if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        upright = ImageOps.exif_transpose(image)
        data = _encode(upright, image_format)
        width, height = upright.size
    return ValidatedImage(
        content=data,
        format=image_format,
        extension=ACCEPTED_FORMATS[image_format],
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=95, optimize=True)
    elif image_format == "WEBP":
        image.save(out, "WEBP", quality=95)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def font_validate(upload: UploadedFile) -> ValidatedFont:
    """Accept a TrueType or OpenType font that FreeType can load."""
    data = _read_bounded(upload, MAX_FONT_BYTES)
    try:
        ImageFont.truetype(io.BytesIO(data), 24)
    except OSError:
        raise UploadRejected("The file is not a TrueType or OpenType font.") from None
    extension = ".otf" if data[:4] == b"OTTO" else ".ttf"
    return ValidatedFont(content=data, extension=extension, sha256=hashlib.sha256(data).hexdigest())
