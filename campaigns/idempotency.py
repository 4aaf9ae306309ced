"""Idempotency-Key handling for POSTs that create (IETF httpapi Idempotency-Key draft).

The key is scoped per workspace and stored with a fingerprint of the canonical request. The
record is written in the same transaction as what the request created, so a unique constraint,
not a read-then-write, decides which of two concurrent duplicates wins.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from rest_framework.request import Request
from rest_framework.response import Response

from adfame.problems import Problem
from campaigns.models import IdempotencyRecord, Workspace

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_CONSTRAINT = "idempotency_key_unique"


@dataclass(frozen=True)
class Created:
    status: int
    body: dict[str, Any]


def idempotency_key_require(request: Request) -> str:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise Problem(
            400,
            "idempotency-key-missing",
            "Idempotency-Key required",
            f"This request creates a resource: send an {HEADER} header (a UUID is a good key).",
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            400,
            "idempotency-key-invalid",
            "Invalid Idempotency-Key",
            f"The {HEADER} must be printable and at most {MAX_KEY_LENGTH} characters.",
        )
    return key


def request_fingerprint(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_create(
    *,
    request: Request,
    workspace: Workspace,
    fingerprint_body: Any,
    validate: Callable[[], Any],
    create: Callable[[Any], Created],
) -> Response:
    """Run `create` once per (workspace, key); repeats of the same request replay its response.

    `validate` runs only for a new key (a repeat is answered from the record, a mismatch is 422);
    its result is passed to `create`, which runs inside the transaction that stores the record.
    """
    key = idempotency_key_require(request)
    fingerprint = request_fingerprint(method=request.method, path=request.path, body=fingerprint_body)
    existing = IdempotencyRecord.objects.filter(workspace=workspace, key=key).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    validated = validate()
    try:
        with transaction.atomic():
            # Inserted first: a concurrent duplicate blocks here until this transaction ends.
            record = IdempotencyRecord.objects.create(
                workspace=workspace,
                key=key,
                fingerprint=fingerprint,
                method=request.method,
                path=request.path,
                response_status=0,
                response_body={},
            )
            created = create(validated)
            record.response_status = created.status
            record.response_body = json.loads(json.dumps(created.body, cls=DjangoJSONEncoder))
            record.save(update_fields=["response_status", "response_body"])
    except IntegrityError as exc:
        if not _is_key_conflict(exc):
            raise
        return _replay(IdempotencyRecord.objects.get(workspace=workspace, key=key), fingerprint)
    return Response(record.response_body, status=record.response_status)


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise Problem(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            f"This {HEADER} was already used with a different request ({record.method} {record.path}); "
            "use a new key for a new request.",
        )
    return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})


def _is_key_conflict(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None) == _CONSTRAINT
    return "idempotencyrecord" in str(exc).lower()
