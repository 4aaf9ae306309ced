"""`manage.py ingest_events FILE --workspace SLUG`: load an events CSV synchronously, with a progress bar.

The same processing as an upload through the API (predictions.ingestion), run in this process:
the file is stored as an ingestion of the workspace, validated in chunks, and its accepted rows
are copied in one transaction. Prints the counts and the first rejected rows; a file that
failed (wrong header, every row rejected, a loading error) exits non-zero.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.files.base import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Workspace
from predictions.ingestion import Progress
from predictions.management import ProgressBar
from predictions.models import IngestionStatus
from predictions.services import ingestion_create, ingestion_process


class Command(BaseCommand):
    help = "Load a CSV of e-commerce events (REES46 layout) into a workspace, validated row by row."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a CSV with the header event_time,event_type,...,user_session")
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--show", type=int, default=10, help="rejected rows to print (default 10)")

    def handle(self, *args: Any, file: Path, workspace: str, show: int, **options: Any) -> None:
        owner = Workspace.objects.filter(slug=workspace).first()
        if owner is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        if not file.is_file():
            raise CommandError(f"No file at {file}.")
        started = time.perf_counter()
        with open(file, "rb") as handle:
            ingestion = ingestion_create(workspace=owner, upload=File(handle, name=file.name), enqueue=False)
        self.stdout.write(f"ingestion: {ingestion.id}")
        bar = ProgressBar(self.stderr)

        def progress(state: Progress) -> None:
            if state.phase == IngestionStatus.VALIDATING:
                note = f"{state.rows_total} rows, {state.rows_rejected} rejected"
            else:
                note = f"{state.done}/{state.total} rows"
            bar.update(state.phase, state.done, state.total, note)

        ingestion = ingestion_process(ingestion_id=ingestion.id, progress=progress)
        bar.finish()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"status:    {ingestion.status} in {elapsed:.1f} s")
        self.stdout.write(
            f"rows:      {ingestion.rows_total} read, {ingestion.rows_accepted} accepted, "
            f"{ingestion.rows_rejected} rejected"
        )
        if ingestion.status == IngestionStatus.SUCCEEDED and elapsed > 0:
            self.stdout.write(f"rate:      {ingestion.rows_total / elapsed:,.0f} rows/s")
        sample = ingestion.rejected_sample[: max(show, 0)]
        if sample:
            self.stdout.write(f"rejected rows (first {len(sample)} of {ingestion.rows_rejected}):")
            for row in sample:
                self.stdout.write(f"  line {row['line']}: {row['reason']}")
                self.stdout.write(f"    {row['raw'][:200]}")
        if ingestion.status != IngestionStatus.SUCCEEDED:
            raise CommandError(f"the file was not loaded: {ingestion.error}")
