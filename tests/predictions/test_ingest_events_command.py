from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from predictions.models import CustomerEvent, EventIngestion
from tests.predictions import HEADER, event_row, events_csv, good_rows


def _ingest(path: Path, workspace, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest_events", str(path), workspace=workspace.slug, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_it_loads_a_file_with_a_progress_bar_and_prints_the_counts(owner, tmp_path, settings):
    settings.ADFAME_INGEST_CHUNK_ROWS = 5
    path = tmp_path / "events.csv"
    path.write_bytes(events_csv(*good_rows(20)))

    out, err = _ingest(path, owner.workspace)

    ingestion = EventIngestion.objects.get()
    assert f"ingestion: {ingestion.id}" in out
    assert "status:    succeeded in " in out
    assert "rows:      20 read, 20 accepted, 0 rejected" in out
    assert "rows/s" in out
    bars = err.splitlines()
    assert any(line.startswith("  validating  [") and "100.0%  20 rows, 0 rejected" in line for line in bars)
    assert any(line.startswith("  loading     [") and "100.0%  20/20 rows" in line for line in bars)
    assert CustomerEvent.objects.filter(workspace=owner.workspace, ingestion=ingestion).count() == 20
    assert ingestion.original_name == "events.csv" and ingestion.size_bytes == path.stat().st_size


def test_it_prints_the_first_rejected_rows_with_their_lines_and_reasons(owner, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(events_csv(event_row(), event_row(price="-1"), event_row(event_type="like"), event_row()))

    out, _ = _ingest(path, owner.workspace, show=1)

    assert "rows:      4 read, 2 accepted, 2 rejected" in out
    assert "rejected rows (first 1 of 2):" in out
    assert "  line 3: price '-1' is negative" in out
    assert "line 4" not in out
    assert CustomerEvent.objects.count() == 2


def test_a_failed_file_exits_non_zero_and_loads_nothing(owner, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(events_csv(*good_rows(3), header=HEADER + ",extra"))

    with pytest.raises(CommandError, match="the file was not loaded: The header must be exactly"):
        _ingest(path, owner.workspace)
    assert EventIngestion.objects.get().status == "failed"
    assert CustomerEvent.objects.count() == 0


def test_an_unknown_workspace_or_a_missing_file_is_an_error(owner, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(events_csv(*good_rows(1)))
    with pytest.raises(CommandError, match="No workspace with the slug 'nope'"):
        call_command("ingest_events", str(path), workspace="nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No file at"):
        _ingest(tmp_path / "missing.csv", owner.workspace)
    assert EventIngestion.objects.count() == 0
