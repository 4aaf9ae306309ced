"""Loading an events CSV in the REES46 layout into CustomerEvent: validate in chunks, copy in one transaction.

Two passes over the file, so that progress is visible and a failure leaves nothing behind:

1. VALIDATING. The file is read in chunks of ADFAME_INGEST_CHUNK_ROWS rows. The header must be
   exactly COLUMNS (a UTF-8 byte order mark is allowed), or the whole file fails before a row is
   read. Each row is checked (column count, timestamp, event type, integer ids, price, text
   lengths, encoding); rejected rows are counted and the first ADFAME_INGEST_MAX_REJECTED_SHOWN
   are kept as {line, reason, raw}. Accepted rows go to a temporary file (marshal-encoded lists,
   one per chunk). After every chunk the counts are written to the ingestion row with a plain
   UPDATE in autocommit, so GET shows them while the file is being read.
2. LOADING. The status (with the final counts) is committed, then one transaction COPYs every
   accepted row from the temporary file (psycopg 3 `cursor.copy(...)` and `write_row`) and sets
   the status to SUCCEEDED. The rows and the success commit together: a failure while loading (a
   constraint, a lost connection) rolls all of it back and the caller records FAILED; a worker
   killed mid-load commits nothing and its redelivered task starts over. Nothing is ever partly
   loaded, and a re-run cannot load rows twice.

Why not COPY while validating? That needs the COPY transaction open for the whole read (long
transactions hold back vacuum) and a second connection for progress. Validating first costs a
temporary file of the accepted rows and keeps the states honest: while VALIDATING nothing is in
the table, while LOADING nothing is being checked.

The events table's foreign keys are deferred, so PostgreSQL checks them at COMMIT, keeping a
queued check per row and key until then (about 24 bytes a row): cheap for an upload, worth
knowing for a file of tens of millions of rows. Checking them per chunk instead
(SET CONSTRAINTS ... IMMEDIATE, one COPY a chunk) bounds that memory but measured ~20% slower.

Most rows take a fast path: one regular expression that accepts exactly the plain rows
(no quoting, ASCII ids and prices, no characters COPY would need escaped), then a split on
commas. Everything else goes through the csv module and per-field checks that explain what is wrong.

Other databases (the SQLite demo) load with bulk_create inside the same kind of transaction.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import marshal
import re
import tempfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import IO, Any

import psycopg
from django.conf import settings
from django.core.files.base import File
from django.db import DatabaseError, connection, transaction
from django.utils import timezone as django_timezone

from predictions.models import CustomerEvent, EventIngestion, IngestionStatus

COLUMNS = (
    "event_time", "event_type", "product_id", "category_id", "category_code", "brand", "price", "user_id",
    "user_session",
)
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
MAX_LENGTHS = {"category_code": 200, "brand": 100, "user_session": 64}
MAX_BIGINT = "9223372036854775807"
RAW_SHOWN_CHARS = 500
COPY_COLUMNS = ("workspace_id", "ingestion_id", *COLUMNS)

_TEXT = r"[^,\"\t\\\r\n\x00\ud800-\udfff]"  # what a plain field may hold: nothing to quote, escape or decode
_PLAIN_ROW = re.compile(
    r"(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d UTC,"
    r"(?:view|cart|remove_from_cart|purchase),"
    r"\d{1,18},(\d{1,19}),"
    rf"{_TEXT}{{0,200}},{_TEXT}{{0,100}},"
    r"\d{1,10}(?:\.\d{1,2})?,"
    rf"\d{{1,18}},{_TEXT}{{0,64}}\r?\n?",
)
_PRICE = re.compile(r"\d{1,10}(?:\.\d{1,2})?", re.ASCII)
_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", re.ASCII)
_COPY_LINE = re.compile(r"COPY \S+, line (\d+)")


class IngestionFailed(Exception):
    """The whole file is refused; the message says why, for the ingestion's `error`."""


class LoadFailed(IngestionFailed):
    """The database refused the accepted rows while loading; the transaction rolled all of them back."""


@dataclass(frozen=True)
class Progress:
    """Where an ingestion stands: `done` of `total` bytes read (validating) or rows copied (loading)."""

    phase: str  # IngestionStatus.VALIDATING or IngestionStatus.LOADING
    done: int
    total: int
    rows_total: int
    rows_accepted: int
    rows_rejected: int


ProgressCallback = Callable[[Progress], None]


@dataclass
class _Counts:
    total: int = 0
    accepted: int = 0
    rejected: int = 0


def ingest(*, ingestion: EventIngestion, progress: ProgressCallback | None = None) -> None:
    """Validate and load one claimed ingestion (status VALIDATING); see the module docstring.

    Raises IngestionFailed for a file that cannot be loaded at all (LoadFailed when the database
    refused the rows); in either case nothing was committed to the events table.
    """
    with tempfile.TemporaryFile(prefix="adfame-ingest-") as accepted_rows:
        counts, lines = _validate(ingestion, accepted_rows, progress)
        if counts.total and not counts.accepted:
            raise IngestionFailed(f"Every one of the {counts.total} rows was rejected; see rejected_sample.")
        _set_status(ingestion, IngestionStatus.LOADING)
        accepted_rows.seek(0)
        _load(ingestion, accepted_rows, counts, lines, progress)


# ---- 1. validating ------------------------------------------------------------------------------


def _validate(
    ingestion: EventIngestion, sink: IO[bytes], progress: ProgressCallback | None
) -> tuple[_Counts, array]:
    """Check every row; accepted ones go to `sink`. Returns the counts and each accepted row's line."""
    chunk_rows = max(1, settings.ADFAME_INGEST_CHUNK_ROWS)
    shown = settings.ADFAME_INGEST_MAX_REJECTED_SHOWN
    counts, sample = _Counts(), []
    accepted_lines = array("q")
    with ingestion.file.open("rb") as stored:
        binary = stored
        while isinstance(binary, File):  # down to the stream itself: TextIOWrapper reads it in C
            binary = binary.file
        size = ingestion.size_bytes or ingestion.file.size
        text = io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline="")
        lines = iter(text)
        header_line = next(lines, None)
        if header_line is None:
            raise IngestionFailed(f"The file is empty; expected the header {','.join(COLUMNS)}.")
        header_fields, header_used = _parse_record(header_line, lines)
        _check_header(header_fields)
        line_number = header_used
        date_ok: dict[str, bool] = {}
        while True:
            batch: list[list[str]] = []
            read = 0
            for line in lines:
                line_number += 1
                match = _PLAIN_ROW.fullmatch(line)
                if match is not None:
                    day, category_id = match.groups()
                    valid_day = date_ok.get(day)
                    if valid_day is None:
                        valid_day = date_ok[day] = _is_date(day)
                    if valid_day and (len(category_id) < 19 or category_id <= MAX_BIGINT):
                        batch.append(line.rstrip("\r\n").split(","))
                        accepted_lines.append(line_number)
                        read += 1
                        if read == chunk_rows:
                            break
                        continue
                if line in ("\n", "\r\n", "\r"):
                    continue  # blank lines are not rows
                first = line_number
                fields, used = _parse_record(line, lines)
                line_number += used - 1
                reasons = _problems(fields)
                read += 1
                if reasons:
                    counts.rejected += 1
                    if len(sample) < shown:
                        sample.append({"line": first, "reason": "; ".join(reasons), "raw": _raw(line)})
                else:
                    batch.append(fields)
                    accepted_lines.append(first)
                if read == chunk_rows:
                    break
            if batch:
                marshal.dump(batch, sink)
            counts.total += read
            counts.accepted += len(batch)
            _record_counts(ingestion, counts, sample)
            if progress:
                progress(Progress(IngestionStatus.VALIDATING, min(binary.tell(), size), size,
                                  counts.total, counts.accepted, counts.rejected))
            if read < chunk_rows:
                return counts, accepted_lines


def _parse_record(line: str, rest: Iterator[str]) -> tuple[list[str] | str, int]:
    """One CSV record starting at `line` (a quoted field may go on over later lines).

    Returns its fields, or the csv module's complaint as a string, and how many lines it used.
    """
    reader = csv.reader(itertools.chain((line,), rest), strict=True)
    try:
        fields = next(reader)
    except csv.Error as exc:
        return f"malformed CSV ({exc})", max(reader.line_num, 1)
    return fields, reader.line_num


def _check_header(fields: list[str] | str) -> None:
    expected = ",".join(COLUMNS)
    if isinstance(fields, str):
        raise IngestionFailed(f"The header is not readable: {fields}. Expected exactly: {expected}")
    if fields and fields[0].startswith(codecs.BOM_UTF8.decode()):
        fields = [fields[0][1:], *fields[1:]]
    if tuple(fields) == COLUMNS:
        return
    found = ",".join(fields)[:300]
    for position, (got, want) in enumerate(zip(fields, COLUMNS, strict=False), start=1):
        if got != want:
            raise IngestionFailed(
                f"The header must be exactly {expected} (the REES46 layout); column {position} is "
                f"{got!r}, expected {want!r}. Found: {found}"
            )
    raise IngestionFailed(
        f"The header must be exactly {expected} (the REES46 layout); it has {len(fields)} columns, "
        f"expected {len(COLUMNS)}. Found: {found}"
    )


def _problems(fields: list[str] | str) -> list[str]:
    """Everything wrong with one row, in column order; empty when the row is good."""
    if isinstance(fields, str):
        return [fields]
    if len(fields) != len(COLUMNS):
        return [f"expected {len(COLUMNS)} columns, found {len(fields)}"]
    row = dict(zip(COLUMNS, fields, strict=True))
    reasons = []
    if not _is_timestamp(row["event_time"]):
        reasons.append(f"event_time {_quote(row['event_time'])} is not a time like 2019-10-01 00:00:00 UTC")
    if row["event_type"] not in EVENT_TYPES:
        reasons.append(f"event_type {_quote(row['event_type'])} is not one of {', '.join(EVENT_TYPES)}")
    for name in ("product_id", "category_id", "user_id"):
        if not _is_bigint(row[name]):
            reasons.append(f"{name} {_quote(row[name])} is not an integer from 0 to {MAX_BIGINT}")
    price = row["price"]
    if price.startswith("-") and _PRICE.fullmatch(price[1:]):
        reasons.append(f"price {_quote(price)} is negative")
    elif not _PRICE.fullmatch(price):
        reasons.append(f"price {_quote(price)} is not a number with at most 10 digits and 2 decimals")
    for name, limit in MAX_LENGTHS.items():
        value = row[name]
        if len(value) > limit:
            reasons.append(f"{name} is longer than {limit} characters ({len(value)})")
        if "\x00" in value:
            reasons.append(f"{name} contains a NUL character")
        if not _is_utf8(value):
            reasons.append(f"{name} is not valid UTF-8")
    return reasons


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_timestamp(text: str) -> bool:
    if not _TIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text[:19])
    except ValueError:
        return False
    return True


def _is_bigint(text: str) -> bool:
    return text.isascii() and text.isdigit() and (len(text) < 19 or (len(text) == 19 and text <= MAX_BIGINT))


def _is_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8 arrive as lone surrogates
        return False
    return True


def _quote(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _raw(line: str) -> str:
    """The row's (first) line as it is in the file, shortened; undecodable bytes and NULs shown as U+FFFD."""
    text = line.rstrip("\r\n").encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "\ufffd")
    return text if len(text) <= RAW_SHOWN_CHARS else text[:RAW_SHOWN_CHARS] + "..."


def _record_counts(ingestion: EventIngestion, counts: _Counts, sample: list[dict[str, Any]]) -> None:
    fields = {
        "rows_total": counts.total, "rows_accepted": counts.accepted, "rows_rejected": counts.rejected,
        "rejected_sample": sample,
    }
    for name, value in fields.items():
        setattr(ingestion, name, value)
    EventIngestion.objects.filter(pk=ingestion.pk).update(**fields)


def _set_status(ingestion: EventIngestion, status: str, **fields: Any) -> None:
    ingestion.status = status
    for name, value in fields.items():
        setattr(ingestion, name, value)
    EventIngestion.objects.filter(pk=ingestion.pk).update(status=status, **fields)


# ---- 2. loading ---------------------------------------------------------------------------------


def _chunks(source: IO[bytes]) -> Iterator[list[list[str]]]:
    while True:
        try:
            yield marshal.load(source)
        except EOFError:
            return


def _load(
    ingestion: EventIngestion, source: IO[bytes], counts: _Counts, lines: array, progress: ProgressCallback | None
) -> None:
    """Copy every accepted row and mark the ingestion SUCCEEDED, in one transaction."""

    def report(done: int) -> None:
        if progress:
            progress(Progress(IngestionStatus.LOADING, done, counts.accepted, counts.total, counts.accepted,
                              counts.rejected))

    report(0)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _copy(ingestion, source, report, lines)
        else:
            _bulk_create(ingestion, source, report)
        _set_status(ingestion, IngestionStatus.SUCCEEDED, finished_at=django_timezone.now())


def _copy(ingestion: EventIngestion, source: IO[bytes], report: Callable[[int], None], lines: array) -> None:
    quote = connection.ops.quote_name
    statement = (
        f"COPY {quote(CustomerEvent._meta.db_table)} ({', '.join(quote(c) for c in COPY_COLUMNS)}) FROM STDIN"
    )
    owner = (str(ingestion.workspace_id), str(ingestion.pk))
    done = 0
    try:
        # Django's cursor hands `copy` through to psycopg's, whose errors arrive unwrapped.
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for chunk in _chunks(source):
                for fields in chunk:
                    copy.write_row((*owner, *fields))
                done += len(chunk)
                report(done)
    except (DatabaseError, psycopg.Error) as exc:
        raise _load_failed(exc, lines) from exc


def _load_failed(exc: Exception, lines: array) -> LoadFailed:
    """The database's complaint, located by the file's line number when the COPY context names one."""
    cause = exc if isinstance(exc, psycopg.Error) else (exc.__cause__ or exc)
    diag = getattr(cause, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(cause) or type(cause).__name__).strip().splitlines()[0]
    found = _COPY_LINE.search(getattr(diag, "context", None) or "")
    where = ""
    if found and 0 < int(found.group(1)) <= len(lines):
        where = f" at line {lines[int(found.group(1)) - 1]}"
    return LoadFailed(f"Loading failed{where}: {message}. Nothing was loaded.")


def _bulk_create(ingestion: EventIngestion, source: IO[bytes], report: Callable[[int], None]) -> None:
    done = 0
    for chunk in _chunks(source):
        CustomerEvent.objects.bulk_create(
            [
                CustomerEvent(
                    workspace_id=ingestion.workspace_id,
                    ingestion_id=ingestion.pk,
                    event_time=datetime.fromisoformat(time_[:19]).replace(tzinfo=timezone.utc),
                    event_type=event_type,
                    product_id=int(product_id),
                    category_id=int(category_id),
                    category_code=category_code,
                    brand=brand,
                    price=Decimal(price),
                    user_id=int(user_id),
                    user_session=session,
                )
                for time_, event_type, product_id, category_id, category_code, brand, price, user_id, session in chunk
            ],
            batch_size=2_000,
        )
        done += len(chunk)
        report(done)
