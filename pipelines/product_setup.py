"""Product setup: a neutral cut-out and metadata, a reference sheet, and storyboard seeds, stored as
checkpoints that every later job of the product reads from its snapshot."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from adapters.base import Brief
from adapters.registry import provider
from adfame.ssrf import UnsafeUrl, safe_get
from imaging.cutout import dominant_colors, find_subject, product_view
from jobs.models import Stage
from pipelines.engine import OutputFile, Pipeline, StageSpec, StepContext, StepResult

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
# Words in a product's name or description that say which category it belongs to.
CATEGORIES = {
    "drinkware": ("bottle", "flask", "mug", "cup", "tumbler"),
    "footwear": ("shoe", "sneaker", "boot", "sandal", "trainer"),
    "beauty": ("serum", "cream", "lipstick", "perfume", "fragrance", "lotion"),
    "electronics": ("headphone", "earbud", "speaker", "phone", "charger", "watch"),
    "apparel": ("shirt", "jacket", "hoodie", "dress", "jeans", "cap"),
    "home": ("lamp", "chair", "candle", "pillow", "blanket", "vase"),
}


class _OpenGraph(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = dict(attrs)
        name = values.get("property") or values.get("name") or ""
        if name.startswith("og:") and values.get("content"):
            self.fields.setdefault(name[3:], html.unescape(values["content"])[:500])


def open_graph(link: str) -> dict[str, Any]:
    """The link's OpenGraph fields, fetched through the SSRF guard; the reason when there are none."""
    if not link:
        return {}
    try:
        page = safe_get(link)
    except UnsafeUrl as exc:
        return {"error": str(exc)}
    except Exception as exc:  # a shop page being down must not fail the product's setup
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    if page.status_code != 200 or "html" not in page.content_type:
        return {"error": f"HTTP {page.status_code} {page.content_type}".strip()}
    parser = _OpenGraph()
    parser.feed(page.text)
    return parser.fields


def guess_category(*texts: str) -> str:
    words = set(re.findall(r"[a-z]+", " ".join(texts).lower()))
    for category, keywords in CATEGORIES.items():
        if any(keyword in word for word in words for keyword in keywords):
            return category
    return "general"


# 1. Analysis: the product found in its photo (one subject mask gives the neutral view and the colours),
# its category, its link's metadata.
def product_analysis(ctx: StepContext) -> StepResult:
    product = ctx.snapshot["product"]
    first = ctx.materialize(product["images"][0]["storage_name"])
    subject = find_subject(first)
    cutout = product_view(first)
    neutral = ctx.path("neutral.png")
    cutout.save(neutral)
    og = open_graph(product.get("link", ""))
    return StepResult(
        provider="local.compositor",
        outputs={
            "colors": dominant_colors(first, 4),
            "category": guess_category(product.get("name", ""), product.get("description", ""), og.get("title", "")),
            "og": og,
            # How scenes show it: cut out, or the photo itself cropped to it (the frame cuts it off, or it fills it).
            "subject": {"box": list(subject.box), "method": subject.method, "cutout": subject.use_cutout,
                        "touches_edges": subject.touches_edges, "fills_frame": subject.fills_frame},
        },
        files=[OutputFile("neutral", neutral, "image", "neutral", "image/png", width=cutout.width, height=cutout.height)],
    )


# 2. Reference sheet: every view of the product alone, with its palette, for later scenes.
def character_sheet(ctx: StepContext) -> StepResult:
    product = ctx.snapshot["product"]
    analysis = ctx.outputs_of(Stage.PRODUCT_ANALYSIS)
    cutouts = [product_view(ctx.materialize(image["storage_name"])) for image in product["images"]]
    cell, margin = 480, 40
    sheet = Image.new("RGB", (margin + len(cutouts) * (cell + margin), cell + 260), (245, 244, 240))
    draw = ImageDraw.Draw(sheet)
    for index, cutout in enumerate(cutouts):
        cutout.thumbnail((cell, cell))
        x = margin + index * (cell + margin) + (cell - cutout.width) // 2
        sheet.paste(cutout, (x, margin + (cell - cutout.height) // 2), cutout)
        draw.text((margin + index * (cell + margin), cell + margin + 8), f"view {index + 1}", fill=(90, 90, 90),
                  font=ImageFont.truetype(FONT, 22))
    for index, color in enumerate(analysis["colors"]):
        x = margin + index * 110
        draw.rounded_rectangle([x, cell + 110, x + 90, cell + 180], radius=12, fill=color)
        draw.text((x, cell + 190), color, fill=(60, 60, 60), font=ImageFont.truetype(FONT, 18))
    draw.text((margin, 8), product.get("name") or "Product", fill=(30, 30, 30), font=ImageFont.truetype(FONT, 26))
    path = ctx.path("reference-sheet.png")
    sheet.save(path)
    return StepResult(
        provider="local.compositor",
        outputs={"views": len(cutouts)},
        files=[OutputFile("sheet", path, "image", "reference_sheet", "image/png", width=sheet.width, height=sheet.height)],
    )


# 3. Storyboard seeds: a few concept storyboards that campaigns can start from.
def storyboard_seeds(ctx: StepContext) -> StepResult:
    text = provider("text")
    product, analysis = ctx.snapshot["product"], ctx.outputs_of(Stage.PRODUCT_ANALYSIS)
    seeds = []
    for number in range(ctx.snapshot["options"]["storyboard_seeds"]):
        brief = Brief(
            mode="fast_paced",
            product_name=product.get("name") or "our product",
            product_description=product.get("description", ""),
            prompt=analysis["og"].get("description", ""),
            call_to_action="Shop now",
            scene_count=5,
            duration_s=15.0,
            language="en",
            product_facts={"category": analysis["category"], "colors": analysis["colors"]},
        )
        seeds.append(text.storyboard(brief, seed=ctx.seed + number).to_dict())
    return StepResult(provider=text.name, outputs={"seeds": seeds})


def _wants_sheet(snapshot: dict[str, Any]) -> bool:
    return bool(snapshot.get("options", {}).get("character_sheet", True))


def _wants_seeds(snapshot: dict[str, Any]) -> bool:
    return int(snapshot.get("options", {}).get("storyboard_seeds", 0)) > 0


PIPELINE = Pipeline(
    name="product_setup",
    stages=(
        StageSpec(Stage.PRODUCT_ANALYSIS, product_analysis, queue="image"),
        StageSpec(Stage.CHARACTER_SHEET, character_sheet, queue="image", when=_wants_sheet),
        StageSpec(Stage.STORYBOARD, storyboard_seeds, queue="text", when=_wants_seeds),
    ),
)
