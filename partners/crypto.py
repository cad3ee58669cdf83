"""Encryption at rest for OAuth tokens: Fernet with a key derived from FIELD_ENCRYPTION_KEY.

Any string works as FIELD_ENCRYPTION_KEY: its SHA-256 is the 32-byte Fernet key.
Changing it makes stored tokens unreadable; the connection then asks for a reconnect.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class TokenUnreadable(Exception):
    """A stored secret cannot be decrypted with the current FIELD_ENCRYPTION_KEY."""


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def _current() -> Fernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    """The ciphertext of a secret, as text for a database column ("" stays "")."""
    if not plaintext:
        return ""
    return _current().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    """The secret back from `encrypt` ("" stays ""), or TokenUnreadable."""
    if not ciphertext:
        return ""
    try:
        return _current().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        # The message must not carry the ciphertext: it ends up in logs and pages.
        raise TokenUnreadable(
            "The stored Pinterest tokens cannot be decrypted with the current FIELD_ENCRYPTION_KEY."
        ) from None
