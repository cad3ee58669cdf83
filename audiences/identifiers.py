"""Normalize and hash match identifiers (email, MAID) the way Pinterest wants them.

Raw PII never leaves this module: callers get SHA-256 lowercase hex, or
canvas.customer_fields.InvalidIdentifier whose reason names the problem but
never the value; a missing, blank or all-zero id (NoIdentifier) is refused too.
The validity rules themselves live in canvas/customer_fields.py, shared with
imports and the ingestion API.
See partners/pinterest/README.md, "Identifiers".
"""

from __future__ import annotations

import hashlib
import re

from canvas.customer_fields import (
    EMAIL,
    MAID,
    normalize_email,
    normalize_maid,
    plain_email,
    stripped_text,
)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_sha256_hex(value: str) -> bool:
    """True for 64 lowercase hex characters: already hashed, never hashed again."""
    return bool(_SHA256_HEX.fullmatch(value))


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 bytes, as lowercase hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hash_email(value: str | None) -> str:
    """SHA-256 hex of the normalized email; a SHA-256 hex value passes through as is."""
    text = stripped_text(value, EMAIL)
    if (plain := plain_email(text)) is not None:
        return sha256_hex(plain)  # the common case, in one pass (a hash has no "@")
    if is_sha256_hex(text):
        return text
    return sha256_hex(normalize_email(text))


def hash_maid(value: str | None) -> str:
    """SHA-256 hex of the normalized MAID; a SHA-256 hex value passes through as is."""
    text = stripped_text(value, MAID)
    if is_sha256_hex(text):
        return text
    return sha256_hex(normalize_maid(text))
