"""The demo: a workspace, a sample product, a campaign in all four modes, and one job per mode."""
from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw, ImageFilter

from campaigns.images import image_validate
from campaigns.models import OutputMode
from campaigns.services import api_key_create, campaign_create, product_create, workspace_create
from jobs.contracts import contract_resolve
from jobs.services import job_submit

PROMPT = "Launch the Aurora water bottle for summer hikers: light, cold for 24 hours, made to last."


def sample_product_photo(size: tuple[int, int] = (1200, 1200)) -> bytes:
    """A studio shot of a water bottle on a seamless backdrop, drawn at run time (no shipped media)."""
    width, height = size
    backdrop = Image.new("RGB", size, (238, 236, 232))
    shade = Image.linear_gradient("L").resize(size).point(lambda v: v // 6)
    backdrop.paste((214, 211, 205), mask=shade)
    shadow = Image.new("L", size, 0)
    ImageDraw.Draw(shadow).ellipse([width * 0.33, height * 0.86, width * 0.67, height * 0.92], fill=120)
    backdrop.paste((150, 146, 140), mask=shadow.filter(ImageFilter.GaussianBlur(18)))
    draw = ImageDraw.Draw(backdrop)
    body = [width * 0.38, height * 0.26, width * 0.62, height * 0.89]
    draw.rounded_rectangle(body, radius=int(width * 0.05), fill=(28, 96, 150))
    draw.rounded_rectangle([width * 0.41, height * 0.28, width * 0.45, height * 0.86], radius=12, fill=(70, 140, 190))
    draw.rounded_rectangle([width * 0.43, height * 0.15, width * 0.57, height * 0.27], radius=18, fill=(35, 35, 38))
    draw.rectangle([width * 0.38, height * 0.52, width * 0.62, height * 0.64], fill=(245, 243, 238))
    draw.text((width * 0.43, height * 0.565), "AURORA", fill=(28, 96, 150), font_size=int(width * 0.03))
    out = io.BytesIO()
    backdrop.save(out, "PNG")
    return out.getvalue()


class Command(BaseCommand):
    help = "Create a demo workspace, a sample product and campaign, and submit one job per output mode."

    def handle(self, *args: Any, **options: Any) -> None:
        photo = SimpleUploadedFile("aurora-bottle.png", sample_product_photo())
        with transaction.atomic():
            workspace = workspace_create(name="AdFame demo", owner_email="demo@adfame.local")
            key = api_key_create(workspace=workspace, name="demo")
            product = product_create(
                workspace=workspace,
                name="Aurora water bottle",
                description="Insulated steel bottle, 750 ml, keeps drinks cold for 24 hours.",
                link="",
                images=[(image_validate(photo), photo.name)],
            )
            campaign = campaign_create(
                workspace=workspace,
                product=product,
                name="Aurora summer launch",
                prompt=PROMPT,
                output_modes=list(OutputMode.values),
                settings={
                    "aspect_ratios": ["9:16", "1:1", "16:9"],
                    "duration_s": 20,
                    "scene_count": 5,
                    "language": "en",
                    "voice": "default",
                    "call_to_action": "Shop now",
                    "brand_kit": {"colors": ["#1C6096", "#F5F3EE"], "logo": None, "font": None},
                },
                audience_customer_id="",
            )
            jobs = []
            for mode in OutputMode.values:
                spec = contract_resolve(
                    workspace=workspace,
                    data={"kind": "output_generation", "payload": {"campaign_id": str(campaign.id), "output_mode": mode}},
                )
                jobs.append(job_submit(workspace=workspace, spec=spec))

        self.stdout.write(f"database:  {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
        self.stdout.write(f"broker:    {settings.CELERY_BROKER_URL.split('@')[-1]}")
        self.stdout.write(f"workspace: {workspace.name} ({workspace.id})")
        self.stdout.write(f"API key:   {key.secret}")
        self.stdout.write(f"product:   {product.id}  image: {settings.MEDIA_ROOT}/{product.images.get().file.name}")
        self.stdout.write(f"campaign:  {campaign.id}")
        for job in jobs:
            self.stdout.write(f"job:       {job.id}  {job.output_mode:<16} {job.status}")
        self.stdout.write(
            "The jobs are queued on the orchestrator queue for the pipeline engine (issue #3), which is "
            "not part of this version; nothing has been generated yet."
        )
        self.stdout.write(
            f"Inspect them: DJANGO_DEBUG=1 .venv/bin/python manage.py runserver, then "
            f"curl -H 'Authorization: Bearer {key.secret}' http://127.0.0.1:8000/api/v1/jobs"
        )
