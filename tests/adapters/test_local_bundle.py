"""The image bundle: per-ratio files in three sizes, a contact sheet, a manifest that checks out, one zip."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from adapters.base import AdapterError
from adapters.local.bundle import (
    SHEET_CELL,
    SHEET_GAP,
    SHEET_LABEL,
    SHEET_TITLE,
    THUMB_LONG_SIDE,
    WEB_LONG_SIDE,
    make_bundle,
)

SIZES = {"9:16": (270, 480), "1:1": (270, 270), "16:9": (1280, 720)}  # the 16:9 stills are larger than web size
COLORS = [(200, 40, 50), (30, 120, 200)]  # scene 1 red, scene 2 blue


@pytest.fixture
def scenes(tmp_path: Path) -> dict[str, list[Path]]:
    images: dict[str, list[Path]] = {}
    for ratio, size in SIZES.items():
        for number, color in enumerate(COLORS, start=1):
            path = tmp_path / "renders" / f"scene-{number}-{ratio.replace(':', 'x')}.png"
            path.parent.mkdir(exist_ok=True)
            Image.new("RGB", size, color).save(path)
            images.setdefault(ratio, []).append(path)
    return images


def test_the_zip_holds_the_manifest_at_its_root_and_every_ratios_files(tmp_path, scenes):
    result = make_bundle(scenes, tmp_path / "bundle", {"title": "Spring launch", "job_id": "job-1"})
    with zipfile.ZipFile(result.zip_path) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "contact-sheet.jpg"} <= names
    for folder in ("9x16", "1x1", "16x9"):
        assert {f"{folder}/scene-01.jpg", f"{folder}/scene-02.jpg", f"{folder}/scene-01-thumb.jpg"} <= names
    assert names == {"manifest.json", "contact-sheet.jpg", *(entry["path"] for entry in result.files)}


def test_the_manifest_keeps_what_it_was_given_and_its_checksums_match_the_files(tmp_path, scenes):
    out = tmp_path / "bundle"
    result = make_bundle(scenes, out, {"title": "Spring launch", "job_id": "job-1", "scenes": [{"number": 1}]})
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["title"] == "Spring launch" and manifest["job_id"] == "job-1" and manifest["scenes"] == [{"number": 1}]
    assert manifest["files"] == result.files
    with zipfile.ZipFile(result.zip_path) as archive:
        assert json.loads(archive.read("manifest.json")) == manifest
        for entry in manifest["files"]:
            data = archive.read(entry["path"])
            on_disk = (out / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] == hashlib.sha256(on_disk).hexdigest()
            assert len(data) == entry["bytes"]
            with Image.open(out / entry["path"]) as picture:
                assert picture.format == "JPEG" and picture.size == (entry["width"], entry["height"])
    sheet = manifest["contact_sheet"]
    assert sheet["sha256"] == hashlib.sha256(result.contact_sheet_path.read_bytes()).hexdigest()


def test_every_still_gets_a_thumbnail_and_only_large_ones_a_web_copy(tmp_path, scenes):
    result = make_bundle(scenes, tmp_path / "bundle", {})
    by_variant: dict[str, list[dict]] = {}
    for entry in result.files:
        by_variant.setdefault(entry["variant"], []).append(entry)
    assert len(by_variant["full"]) == len(by_variant["thumb"]) == 6
    thumb_sides = [max(entry["width"], entry["height"]) for entry in by_variant["thumb"]]
    assert thumb_sides == [THUMB_LONG_SIDE, THUMB_LONG_SIDE, 270, 270, THUMB_LONG_SIDE, THUMB_LONG_SIDE]  # none enlarged
    assert [(e["ratio"], e["scene"], e["width"], e["height"]) for e in by_variant["web"]] == [
        ("16:9", 1, WEB_LONG_SIDE, 608),
        ("16:9", 2, WEB_LONG_SIDE, 608),
    ]
    assert [(e["ratio"], e["scene"], e["width"], e["height"]) for e in by_variant["full"]][:2] == [
        ("9:16", 1, 270, 480),
        ("9:16", 2, 270, 480),
    ]


def test_the_contact_sheet_shows_every_still_in_a_grid_under_the_title(tmp_path, scenes):
    result = make_bundle(scenes, tmp_path / "bundle", {"title": "Spring launch"})
    sheet = Image.open(result.contact_sheet_path).convert("RGB")
    # Rows: 9:16 and 1:1 fill the cell's height, 16:9 is 180 tall; two columns of scenes.
    rows = [SHEET_CELL, SHEET_CELL, SHEET_CELL * 9 // 16]
    width = SHEET_GAP + 2 * (SHEET_CELL + SHEET_GAP)
    height = SHEET_TITLE + SHEET_GAP + sum(row + SHEET_LABEL + SHEET_GAP for row in rows)
    assert sheet.size == (width, height)
    # The middle of each cell shows that scene's colour.
    top = SHEET_TITLE + SHEET_GAP
    for row in rows:
        for column, color in enumerate(COLORS):
            pixel = sheet.getpixel((SHEET_GAP + column * (SHEET_CELL + SHEET_GAP) + SHEET_CELL // 2, top + row // 2))
            assert all(abs(a - b) < 12 for a, b in zip(pixel, color))
        top += row + SHEET_LABEL + SHEET_GAP


def test_the_same_stills_make_the_same_zip(tmp_path, scenes):
    first = make_bundle(scenes, tmp_path / "one", {"title": "Spring launch"})
    second = make_bundle(scenes, tmp_path / "two", {"title": "Spring launch"})
    assert first.zip_path.read_bytes() == second.zip_path.read_bytes()


def test_transparent_stills_are_flattened_onto_white(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (100, 100), (0, 0, 0, 0)).save(path)
    result = make_bundle({"1:1": [path]}, tmp_path / "bundle", {})
    assert Image.open(tmp_path / "bundle" / "1x1" / "scene-01.jpg").getpixel((50, 50)) >= (250, 250, 250)
    assert result.files[0]["width"] == 100


@pytest.mark.parametrize(
    ("images", "manifest"),
    [
        ({}, {}),
        ({"1:1": []}, {}),
        ({"square": ["x.png"]}, {}),
        ({"1:1": ["x.png"]}, {"files": []}),
    ],
    ids=["no ratios", "no stills", "bad ratio", "manifest claims files"],
)
def test_input_the_bundle_cannot_describe_is_a_permanent_error(tmp_path, images, manifest):
    Image.new("RGB", (10, 10)).save(tmp_path / "x.png")
    images = {ratio: [tmp_path / name for name in names] for ratio, names in images.items()}
    with pytest.raises(AdapterError) as error:
        make_bundle(images, tmp_path / "bundle", manifest)
    assert error.value.permanent


def test_an_unreadable_still_is_a_permanent_error(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"definitely not a png")
    with pytest.raises(AdapterError) as error:
        make_bundle({"1:1": [broken]}, tmp_path / "bundle", {})
    assert error.value.permanent
