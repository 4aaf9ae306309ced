"""The image bundle: per-ratio JPEGs with web and thumbnail sizes, a contact sheet, a manifest and one zip."""
from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from adapters.base import AdapterError

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
JPEG_QUALITY = 92
THUMB_QUALITY = 85
WEB_LONG_SIDE = 1080  # images longer than this also get a web-size copy
THUMB_LONG_SIDE = 320

SHEET_CELL = 320  # every image is fitted into a square this size on the contact sheet
SHEET_GAP = 32
SHEET_LABEL = 40  # the strip under each image that holds "scene N · ratio"
SHEET_TITLE = 96  # the band above the grid, when the manifest has a title
SHEET_BACKGROUND = (236, 235, 232)

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # one fixed timestamp: the same bundle zips to the same bytes


@dataclass(frozen=True)
class BundleResult:
    zip_path: Path
    manifest_path: Path
    contact_sheet_path: Path
    files: list[dict[str, Any]]  # as in the manifest: path, ratio, scene, variant, width, height, bytes, sha256


def make_bundle(images: dict[str, list[Path]], out_dir: Path, manifest: dict[str, Any]) -> BundleResult:
    """Write the bundle for scene images keyed by aspect ratio ("9:16": [scene 1, scene 2, …]) into out_dir.

    Per ratio: `9x16/scene-01.jpg` at full size, `-web.jpg` when the long side exceeds 1080 and
    `-thumb.jpg` at 320; then `contact-sheet.jpg`, `manifest.json` (the given manifest plus the files)
    and `bundle.zip` holding all of it with manifest.json at its root.
    """
    # 1. Fail early on input the bundle cannot describe.
    if not any(images.values()):
        raise AdapterError("nothing to bundle: no scene images were given", permanent=True)
    for ratio in images:
        if not re.fullmatch(r"\d+:\d+", ratio):
            raise AdapterError(f"aspect ratio {ratio!r} is not of the form W:H", permanent=True)
    if {"files", "contact_sheet"} & manifest.keys():
        raise AdapterError("the manifest must not carry 'files' or 'contact_sheet': the bundle writes them", permanent=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    # 2. Per-ratio JPEGs in three sizes, keeping a small copy of each for the contact sheet.
    files: list[dict[str, Any]] = []
    rows: list[tuple[str, list[Image.Image]]] = []
    for ratio, paths in images.items():
        folder = ratio.replace(":", "x")
        row = []
        for scene, path in enumerate(paths, start=1):
            picture = _open_rgb(path)
            stem = f"{folder}/scene-{scene:02d}"
            files.append(_write_jpeg(picture, out_dir, f"{stem}.jpg", ratio=ratio, scene=scene, variant="full"))
            if max(picture.size) > WEB_LONG_SIDE:
                files.append(_write_jpeg(_shrunk(picture, WEB_LONG_SIDE), out_dir, f"{stem}-web.jpg",
                                         ratio=ratio, scene=scene, variant="web"))
            files.append(_write_jpeg(_shrunk(picture, THUMB_LONG_SIDE), out_dir, f"{stem}-thumb.jpg",
                                     ratio=ratio, scene=scene, variant="thumb", quality=THUMB_QUALITY))
            row.append(_scaled_to(picture, SHEET_CELL))
        rows.append((ratio, row))

    # 3. The contact sheet: every image, labelled, under the bundle's title.
    sheet = contact_sheet(rows, str(manifest.get("title") or ""))
    sheet_path = out_dir / "contact-sheet.jpg"
    sheet.save(sheet_path, "JPEG", quality=JPEG_QUALITY)

    # 4. The manifest: what was asked for, plus what was written.
    manifest_path = out_dir / "manifest.json"
    described = {**manifest, "files": files, "contact_sheet": _describe(sheet_path, "contact-sheet.jpg", sheet.size)}
    manifest_path.write_text(json.dumps(described, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")

    # 5. One zip of it all, written beside and renamed into place so a reader never sees half a zip.
    zip_path = out_dir / "bundle.zip"
    partial = out_dir / "bundle.zip.partial"
    with zipfile.ZipFile(partial, "w") as archive:
        _add(archive, manifest_path, "manifest.json", compress=True)
        _add(archive, sheet_path, "contact-sheet.jpg")
        for entry in files:
            _add(archive, out_dir / entry["path"], entry["path"])
    partial.replace(zip_path)
    return BundleResult(zip_path=zip_path, manifest_path=manifest_path, contact_sheet_path=sheet_path, files=files)


def contact_sheet(rows: list[tuple[str, list[Image.Image]]], title: str) -> Image.Image:
    """A neutral sheet with one row per ratio, each image centred in its cell over a "scene N · ratio" label.

    Cells are SHEET_CELL wide; a row is as tall as its tallest image, so wide frames leave no gaps.
    """
    rows = [(ratio, row) for ratio, row in rows if row]
    columns = max(len(row) for _, row in rows)
    heights = [max(picture.height for picture in row) for _, row in rows]
    width = SHEET_GAP + columns * (SHEET_CELL + SHEET_GAP)
    height = (SHEET_TITLE if title else 0) + SHEET_GAP + sum(h + SHEET_LABEL + SHEET_GAP for h in heights)
    sheet = Image.new("RGB", (width, height), SHEET_BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    top = SHEET_GAP
    if title:
        font = _font("DejaVuSans-Bold.ttf", 40)
        draw.text((SHEET_GAP, SHEET_TITLE // 2 + SHEET_GAP // 2), _fitted(title, font, sheet.width - 2 * SHEET_GAP),
                  font=font, fill=(34, 34, 38), anchor="lm")
        top += SHEET_TITLE
    label_font = _font("DejaVuSans.ttf", 20)
    for (ratio, row), row_height in zip(rows, heights):
        for index, picture in enumerate(row):
            left = SHEET_GAP + index * (SHEET_CELL + SHEET_GAP)
            x = left + (SHEET_CELL - picture.width) // 2
            y = top + (row_height - picture.height) // 2
            # A hairline frame keeps light images from melting into the sheet.
            draw.rectangle((x - 1, y - 1, x + picture.width, y + picture.height), outline=(200, 199, 195))
            sheet.paste(picture, (x, y))
            draw.text((left + SHEET_CELL // 2, top + row_height + SHEET_LABEL // 2), f"scene {index + 1} \u00b7 {ratio}",
                      font=label_font, fill=(90, 90, 96), anchor="mm")
        top += row_height + SHEET_LABEL + SHEET_GAP
    return sheet


def _open_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as raw:
            raw.load()
            picture = ImageOps.exif_transpose(raw)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise AdapterError(f"cannot read scene image {path.name}: {exc}", permanent=True) from None
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        # JPEG has no alpha: flatten onto white, as a browser would show it.
        flat = Image.new("RGB", picture.size, (255, 255, 255))
        flat.paste(picture.convert("RGBA"), mask=picture.convert("RGBA").getchannel("A"))
        return flat
    return picture.convert("RGB")


def _shrunk(picture: Image.Image, long_side: int) -> Image.Image:
    copy = picture.copy()
    copy.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return copy


def _scaled_to(picture: Image.Image, long_side: int) -> Image.Image:
    """The picture with its long side exactly `long_side`, up or down: contact-sheet cells line up."""
    scale = long_side / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)


def _write_jpeg(picture: Image.Image, out_dir: Path, relative: str, *, ratio: str, scene: int, variant: str,
                quality: int = JPEG_QUALITY) -> dict[str, Any]:
    path = out_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    # Full chroma (4:4:4): the default 4:2:0 smears the edges of coloured headline type.
    picture.save(path, "JPEG", quality=quality, subsampling=0)
    return {"ratio": ratio, "scene": scene, "variant": variant, **_describe(path, relative, picture.size)}


def _describe(path: Path, relative: str, size: tuple[int, int]) -> dict[str, Any]:
    data = path.read_bytes()
    return {"path": relative, "width": size[0], "height": size[1], "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def _add(archive: zipfile.ZipFile, path: Path, name: str, *, compress: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.external_attr = 0o644 << 16
    # JPEGs are compressed already; deflating them again costs time and saves nothing.
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    archive.writestr(info, path.read_bytes())


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:
        return ImageFont.load_default(size)


def _fitted(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """The text, cut short with an ellipsis when it is wider than `width`."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"
