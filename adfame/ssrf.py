"""Outbound HTTP that cannot be pointed at internal addresses (SSRF guard).

Only http and https; every address the host resolves to must be public (no loopback, private,
link-local, CGNAT, multicast, reserved or metadata addresses); the connection goes to the address
that was checked (no second lookup an attacker could race); redirects are never followed.
ADFAME_ALLOW_LOOPBACK_URLS lets loopback through, for local development and tests only.
"""
from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings


class UnsafeUrl(ValueError):
    """The URL may not be fetched; the message says why."""


def resolve_public(url: str) -> tuple[str, str, list[str]]:
    """Check a URL and return (scheme, host, addresses it may be fetched from)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(f"Only http and https URLs are allowed, not {parts.scheme or 'none'}.")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("The URL has no host.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UnsafeUrl(f"The host {host} does not resolve.") from None
    addresses = sorted({info[4][0] for info in infos})
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_loopback and settings.ADFAME_ALLOW_LOOPBACK_URLS:
            continue
        if not ip.is_global or ip.is_multicast:
            raise UnsafeUrl(f"{host} resolves to {ip}, which is not a public address.")
    return parts.scheme, host, addresses


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds: once per process, not once per request.
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Fetched:
    status_code: int
    content_type: str
    body: bytes  # decoded transfer encoding, at most max_bytes
    location: str = ""  # where a redirect pointed (never followed)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def safe_get(url: str, *, timeout_s: float = 5.0, max_bytes: int = 1_000_000) -> Fetched:
    """GET a public URL, connecting to the checked address, reading at most max_bytes."""
    return safe_request("GET", url, timeout_s=timeout_s, max_bytes=max_bytes)


def safe_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout_s: float = 5.0,
    max_bytes: int = 1_000_000,
) -> Fetched:
    """Send a request to a public URL, connecting to the checked address, reading at most max_bytes.

    A redirect is returned as it is (never followed). Network failures raise httpx's errors.
    """
    scheme, host, addresses = resolve_public(url)
    parts = urlsplit(url)
    address = addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    # No proxies from the environment: a proxy would resolve the host again, past the check.
    client = httpx.Client(timeout=timeout_s, follow_redirects=False, verify=_tls_context(), trust_env=False)
    with client:
        request = client.build_request(
            method, pinned, content=content,
            headers={"User-Agent": "AdFame/1.0", **(headers or {}), "Host": parts.netloc.rsplit("@", 1)[-1]},
            extensions={"sni_hostname": host},
        )
        response = client.send(request, stream=True)
        try:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    break
        finally:
            response.close()
    return Fetched(
        response.status_code, response.headers.get("content-type", ""), body[:max_bytes],
        response.headers.get("location", ""),
    )
