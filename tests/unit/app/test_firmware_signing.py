"""The gateways' download links: valid until they expire; a forged or non-ASCII signature is
refused as forbidden, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from voltfleet.app.firmware import signing
from voltfleet.usecases.errors import Forbidden

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_a_link_holds_until_it_expires() -> None:
    url = signing.download_url("https://fleet.example/", "s" * 40, "r1", NOW, timedelta(minutes=15))
    q = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/api/v1/firmware/files/r1"
    expires, sig = int(q["expires"][0]), q["sig"][0]
    signing.check_link("s" * 40, "r1", expires, sig, NOW + timedelta(minutes=14))
    with pytest.raises(Forbidden, match="expired"):
        signing.check_link("s" * 40, "r1", expires, sig, NOW + timedelta(minutes=15))
    with pytest.raises(Forbidden, match="not valid"):
        signing.check_link("s" * 40, "r2", expires, sig, NOW)  # another release


@pytest.mark.parametrize("sig", ["", "x", "\u00e9" * 64, "\x00"])
def test_forged_signatures_are_forbidden(sig: str) -> None:
    with pytest.raises(Forbidden):
        signing.check_link("s" * 40, "\u00e9", 10**10, sig, NOW)
