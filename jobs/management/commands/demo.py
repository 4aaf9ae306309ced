"""The demo: a workspace, a sample product, a campaign in all four modes, and one job per mode."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from PIL import Image, ImageDraw, ImageFilter

from campaigns.images import image_validate
from campaigns.models import OutputMode
from campaigns.services import api_key_create, campaign_create, product_create, workspace_create
from adfame.celery import QUEUES
from jobs.contracts import contract_resolve
from jobs.models import Asset, Job
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
    # The label sits inside the body's outline, in a colour the backdrop does not have.
    draw.rounded_rectangle([width * 0.40, height * 0.52, width * 0.60, height * 0.64], radius=10, fill=(250, 226, 170))
    draw.text((width * 0.435, height * 0.565), "AURORA", fill=(28, 96, 150), font_size=int(width * 0.03))
    out = io.BytesIO()
    backdrop.save(out, "PNG")
    return out.getvalue()


class Command(BaseCommand):
    help = "Create a demo workspace, product and campaign, run one job per output mode on a real worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-worker", action="store_true", help="Only submit; a worker you run yourself runs them.")
        parser.add_argument("--timeout", type=int, default=1800, help="Seconds to wait for the jobs.")

    def handle(self, *args: Any, no_worker: bool, timeout: int, **options: Any) -> None:
        workspace, key, product, campaign, jobs = self._submit()
        self.stdout.write(f"database:  {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
        self.stdout.write(f"broker:    {settings.CELERY_BROKER_URL.split('@')[-1]}")
        self.stdout.write(f"workspace: {workspace.name} ({workspace.id})")
        self.stdout.write(f"API key:   {key}")
        self.stdout.write(f"product:   {product.id}")
        self.stdout.write(f"campaign:  {campaign.id}")
        for job in jobs:
            self.stdout.write(f"job:       {job.id}  {job.output_mode:<16} {job.status}")
        if no_worker:
            self.stdout.write("Submitted; run `make worker` to run them.")
            return
        with _worker() as log_path:
            finished = self._watch([job.id for job in jobs], timeout, log_path)
        self._report(finished)

    def _submit(self) -> tuple[Any, str, Any, Any, list[Job]]:
        photo = SimpleUploadedFile("aurora-bottle.png", sample_product_photo())
        with transaction.atomic():
            workspace = workspace_create(name="AdFame demo", owner_email="demo@adfame.local")
            key = api_key_create(workspace=workspace, name="demo")
            product = product_create(
                workspace=workspace,
                name="Aurora water bottle",
                description="Insulated steel bottle, 750 ml, keeps drinks cold for 24 hours. Light, leak-proof, made to last.",
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
                    "aspect_ratios": ["9:16", "1:1"],
                    "duration_s": 15,
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
        return workspace, key.secret, product, campaign, jobs

    def _watch(self, job_ids: list[Any], timeout: int, log_path: Path) -> list[Job]:
        """Draw a progress bar per job until every job has finished."""
        deadline = time.monotonic() + timeout
        drawn = 0
        while True:
            jobs = [Job.objects.get(pk=job_id) for job_id in job_ids]
            lines = [_bar(job) for job in jobs]
            if self.stdout.isatty() and drawn:
                self.stdout.write(f"\x1b[{drawn}A", ending="")
            if self.stdout.isatty() or all(job.is_terminal for job in jobs):
                for line in lines:
                    self.stdout.write("\x1b[2K" + line if self.stdout.isatty() else line)
                drawn = len(lines)
            if all(job.is_terminal for job in jobs):
                return jobs
            if time.monotonic() > deadline:
                raise CommandError(f"jobs still running after {timeout} s; worker log: {log_path}")
            time.sleep(0.5)

    def _report(self, jobs: list[Job]) -> None:
        self.stdout.write("")
        self.stdout.write("outputs:")
        for job in jobs:
            if job.status != "succeeded":
                self.stdout.write(f"  {job.output_mode}: {job.status} at {job.failed_stage} scene {job.failed_scene}: {job.error}")
                continue
            for asset in Asset.objects.filter(job=job, role__in=["final", "bundle", "contact_sheet"]).order_by("role"):
                ratio = f" {asset.aspect_ratio}" if asset.aspect_ratio else ""
                self.stdout.write(f"  {job.output_mode:<16}{ratio:<6} {asset.role:<14} {default_storage.path(asset.file.name)}")
        if any(job.status != "succeeded" for job in jobs):
            raise CommandError("some demo jobs did not succeed")


def _bar(job: Job, width: int = 30) -> str:
    filled = round(width * job.progress / 100)
    stage = job.current_stage if job.status == "running" else job.status
    return f"  {job.output_mode:<16} [{'#' * filled}{'.' * (width - filled)}] {job.progress:3d}%  {stage}"


@contextmanager
def _worker() -> Iterator[Path]:
    """A real Celery worker process on every queue (never eager mode), stopped afterwards."""
    log_path = Path(settings.DATA_DIR) / "demo-worker.log"
    command = [sys.executable, "-m", "celery", "-A", "adfame", "worker", "-Q", ",".join(QUEUES),
               "-c", "2", "-l", "info", "-n", "demo@%h", "--without-gossip", "--without-mingle"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield log_path
    finally:
        process.terminate()  # a warm shutdown: the main process stops its pool itself
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
