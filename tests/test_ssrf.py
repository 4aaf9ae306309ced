"""Outbound fetches never reach internal addresses."""
from __future__ import annotations

import socket

import pytest

from adfame.ssrf import UnsafeUrl, resolve_public

REFUSED = [
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://localhost/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://224.0.0.1/",  # multicast
    "ftp://example.com/file",
    "file:///etc/passwd",
    "http:///no-host",
]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_and_non_http_urls_are_refused(url, settings):
    settings.ADFAME_ALLOW_LOOPBACK_URLS = False
    with pytest.raises(UnsafeUrl):
        resolve_public(url)


def test_a_host_that_resolves_to_a_private_address_is_refused(monkeypatch, settings):
    settings.ADFAME_ALLOW_LOOPBACK_URLS = False

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.20", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeUrl, match="192.168.1.20"):
        resolve_public("https://shop.example.com/p")


def test_a_public_address_passes_and_loopback_only_when_allowed(monkeypatch, settings):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert resolve_public("https://shop.example.com/p") == ("https", "shop.example.com", ["93.184.216.34"])
    monkeypatch.undo()
    settings.ADFAME_ALLOW_LOOPBACK_URLS = True
    assert resolve_public("http://127.0.0.1:8000/")[2] == ["127.0.0.1"]
