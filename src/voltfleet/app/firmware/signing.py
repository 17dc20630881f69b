"""Release signatures (Ed25519, ``cryptography``) and the gateways' short-lived download links
(HMAC-SHA256 over the release id and the expiry, keyed by the deployment's secret)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from voltfleet.usecases.errors import Forbidden, Rejected


def _decode(text: str) -> bytes:
    text = text.strip()
    try:
        if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return b""


def public_key(setting: str) -> Ed25519PublicKey | None:
    """The configured key, or None when none is configured. A key that cannot be read is a
    configuration error (ValueError, at start-up)."""
    if not setting.strip():
        return None
    if "BEGIN PUBLIC KEY" in setting:
        key = load_pem_public_key(setting.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("VOLTFLEET_FIRMWARE_SIGNING_KEY is not an Ed25519 public key")
        return key
    raw = _decode(setting)
    if len(raw) != 32:
        raise ValueError(
            "VOLTFLEET_FIRMWARE_SIGNING_KEY must be an Ed25519 public key: PEM, or the 32 raw "
            "bytes as base64 or hex"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def check_signature(key: Ed25519PublicKey | None, content: bytes, signature: str) -> bool:
    """True when the file is signed by the configured key; False when no key is configured.
    ``Invalid`` (with the reason) for a missing, unreadable or wrong signature."""
    if key is None:
        return False
    if not signature.strip():
        raise Rejected(
            "this platform only takes signed firmware: the release needs an Ed25519 signature "
            "of the file (base64 or hex)",
            [{"field": "signature", "message": "missing"}],
        )
    raw = _decode(signature)
    if len(raw) != 64:
        raise Rejected(
            "the signature is not an Ed25519 signature (64 bytes as base64 or hex)",
            [{"field": "signature", "message": "unreadable"}],
        )
    try:
        key.verify(raw, content)
    except InvalidSignature:
        raise Rejected(
            "the signature does not match the file and the platform's signing key: the file "
            "was changed, or signed with another key",
            [{"field": "signature", "message": "does not verify"}],
        ) from None
    return True


def _mac(secret: str, release_id: str, expires: int) -> str:
    msg = f"firmware:{release_id}:{expires}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def download_url(base_url: str, secret: str, release_id: str, now: datetime, ttl: timedelta) -> str:
    """A link a gateway can fetch the file with, without a token, until ``now + ttl``."""
    expires = int((now + ttl).timestamp())
    query = urlencode({"expires": expires, "sig": _mac(secret, release_id, expires)})
    return f"{base_url.rstrip('/')}/api/v1/firmware/files/{release_id}?{query}"


def check_link(secret: str, release_id: str, expires: int, sig: str, now: datetime) -> None:
    # Bytes, not str: compare_digest refuses a str with non-ASCII characters (a forged link).
    if not hmac.compare_digest(_mac(secret, release_id, expires).encode(), sig.encode()):
        raise Forbidden("the download link is not valid")
    if now.timestamp() >= expires:
        raise Forbidden("the download link has expired: the platform sends a fresh one")


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
