"""Password hashing (argon2id), access tokens (JWT), API keys and mailed codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from voltfleet.settings import Settings

API_KEY_PREFIX = "vfk_"
TOKEN_AUDIENCE = "voltfleet"


@dataclass
class Security:
    settings: Settings

    def __post_init__(self) -> None:
        self._hasher = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=self.settings.argon2_time_cost,
                    memory_cost=self.settings.argon2_memory_kib,
                ),
            )
        )
        # A real hash to verify against when the account does not exist, so that a login for an
        # unknown email takes as long as one for a known email.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(12))

    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_password(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            self._hasher.verify(password, self._dummy_hash)
            return False
        try:
            return self._hasher.verify(password, password_hash)
        except Exception:  # a malformed stored hash is a failed login, not a crash
            return False

    def issue_token(
        self, user_id: str, password_changed_at: datetime, *, now: datetime, kind: str = "access"
    ) -> str:
        """A signed token issued at ``now`` (the injected clock's instant)."""
        claims = {
            "sub": user_id,
            "aud": TOKEN_AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=self.settings.access_token_minutes)).timestamp()),
            # Tokens issued before the last password change stop working.
            "pwd": int(password_changed_at.timestamp()),
            "kind": kind,
            "jti": secrets.token_urlsafe(8),
        }
        return jwt.encode(claims, self.settings.secret_key, algorithm="HS256")

    def read_token(self, token: str, now: datetime) -> dict[str, object] | None:
        """The token's claims if its signature holds and it has not expired at ``now``.

        Expiry is checked against the given instant (the injected clock), not the machine's."""
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                self.settings.secret_key,
                algorithms=["HS256"],
                audience=TOKEN_AUDIENCE,
                options={"require": ["exp"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return None
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= int(now.timestamp()):
            return None
        return claims

    def csrf_token(self, session_token: str) -> str:
        """Double-submit token for portal forms, bound to the session cookie."""
        mac = hmac.new(self.settings.secret_key.encode(), session_token.encode(), hashlib.sha256)
        return mac.hexdigest()[:32]


def new_api_key() -> tuple[str, str, str]:
    """A new key: (the key shown once, its display prefix, its SHA-256 to store)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], sha256(key)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_code() -> str:
    """A six-digit code for mail verification."""
    return f"{secrets.randbelow(1_000_000):06d}"


def new_access_code() -> str:
    """An organisation's access code: what a subordinate types in to register under it."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def new_temporary_password() -> str:
    """A password that satisfies the password rules, for resets done by an administrator."""
    core = secrets.token_urlsafe(9)[:10].replace("-", "x").replace("_", "y")
    return f"{core}Aa1!"
