"""Normalize and hash match identifiers (email, MAID) the way Pinterest wants them.

Raw PII never leaves this module: callers get SHA-256 lowercase hex, or an
`InvalidIdentifier` whose reason names the problem but never the value (it
ends up in CSV import reports and logs). Pure functions, no Django imports.
See pinterest-api-v5.md, "Identifiers and hashing".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

EMAIL = "email"
MAID = "maid"

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# local@domain.tld: no whitespace or second @, no empty domain label, a TLD of 2+ chars.
_EMAIL = re.compile(r"[^\s@]+@(?:[^\s@.]+\.)+[^\s@.]{2,}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Android and iOS hand out the all-zero id when the user turned ad tracking off.
_ZERO_UUID = "00000000-0000-0000-0000-000000000000"


class InvalidIdentifier(ValueError):
    """A value that cannot be synced for that field; `reason` says why, without the value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def is_sha256_hex(value: str) -> bool:
    """True for 64 lowercase hex characters: already hashed, never hashed again."""
    return bool(_SHA256_HEX.fullmatch(value))


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 bytes, as lowercase hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalize_email(value: str | None) -> str:
    """Trimmed, lowercased, NFC email that looks like local@domain.tld."""
    text = _stripped(value, EMAIL)
    # NFC after lowercasing too: lower() can decompose (e.g. "İ" becomes "i" + a combining dot).
    email = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower())
    if not _EMAIL.fullmatch(email):
        raise InvalidIdentifier(EMAIL, "not an email address of the form local@domain.tld")
    return email


def normalize_maid(value: str | None) -> str:
    """Trimmed, lowercased mobile advertising id (GAID/IDFA) in UUID 8-4-4-4-12 form."""
    maid = _stripped(value, MAID).lower()
    if not _UUID.fullmatch(maid):
        raise InvalidIdentifier(MAID, "not a UUID of the form 8-4-4-4-12 hex digits")
    if maid == _ZERO_UUID:
        raise InvalidIdentifier(MAID, "all-zero id (the device has ad tracking turned off)")
    return maid


def hash_email(value: str | None) -> str:
    """SHA-256 hex of the normalized email; a SHA-256 hex value passes through as is."""
    text = _stripped(value, EMAIL)
    if is_sha256_hex(text):
        return text
    return sha256_hex(normalize_email(text))


def hash_maid(value: str | None) -> str:
    """SHA-256 hex of the normalized MAID; a SHA-256 hex value passes through as is."""
    text = _stripped(value, MAID)
    if is_sha256_hex(text):
        return text
    return sha256_hex(normalize_maid(text))


def hash_identifier(field: str, value: str | None) -> str:
    """Hash a value of the named field (`EMAIL` or `MAID`)."""
    if field == EMAIL:
        return hash_email(value)
    if field == MAID:
        return hash_maid(value)
    raise ValueError(f"Unknown identifier field {field!r}")


def _stripped(value: str | None, field: str) -> str:
    if value is None:
        raise InvalidIdentifier(field, "missing")
    if not isinstance(value, str):
        raise InvalidIdentifier(field, f"not text ({type(value).__name__})")
    text = value.strip()
    if not text:
        raise InvalidIdentifier(field, "empty")
    return text
