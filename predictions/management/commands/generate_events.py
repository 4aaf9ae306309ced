"""`manage.py generate_events`: a synthetic REES46-layout events CSV whose best achievable AUC is known.

    manage.py generate_events --customers 10000 --days 60 --seed 7 --out events.csv --truth truth.csv

The generative model (customer traits, Poisson sessions, the label window, the exact purchase
probability in the truth file) is written down in predictions/generator.py.
"""
from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from predictions.generator import events_write_csv, generate, truth_write_csv
from predictions.management import ProgressBar


class Command(BaseCommand):
    help = "Write synthetic e-commerce events (REES46 layout) from a documented model, and each customer's truth."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=10_000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", type=Path, required=True, help="the events CSV to write")
        parser.add_argument(
            "--truth", type=Path, help="also write user_id,true_probability,purchased_in_label_window"
        )
        parser.add_argument("--label-days", type=int, default=7, help="the last days, whose purchases are the labels")
        parser.add_argument("--start", type=date.fromisoformat, default=date(2019, 10, 1), help="first day, YYYY-MM-DD")

    def handle(
        self, *args: Any, customers: int, days: int, seed: int, out: Path, truth: Path | None, label_days: int,
        start: date, **options: Any,
    ) -> None:
        started = time.perf_counter()
        bar = ProgressBar(self.stderr)
        bar.update("simulating", 0, 1, f"{customers} customers, {days} days")
        try:
            events, outcome = generate(customers, days, seed, label_days, start)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        bar.update("simulating", 1, 1, f"{len(events)} events")
        with open(out, "w", newline="", encoding="utf-8") as handle:
            events_write_csv(
                events, handle, progress=lambda done, total: bar.update("writing", done, total, f"{done} rows")
            )
        bar.finish()
        if truth:
            with open(truth, "w", newline="", encoding="utf-8") as handle:
                truth_write_csv(outcome, handle)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"wrote {len(events)} events of {customers} customers to {out} "
            f"({out.stat().st_size / 1e6:.1f} MB) in {elapsed:.1f} s"
        )
        self.stdout.write(
            f"events from {events.start:%Y-%m-%d} to {events.end:%Y-%m-%d}; label window from {events.cutoff:%Y-%m-%d} "
            f"({label_days} days): {outcome.purchased.mean():.1%} of customers bought, "
            f"mean true probability {outcome.probability.mean():.1%}"
        )
        if truth:
            self.stdout.write(f"truth: {truth}")
