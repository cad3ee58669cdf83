"""The project's one definition of a valid email and mobile advertising id.

Imports and the ingestion API use it to refuse bad data, and the Audience Sync
step hashes what it returns (see partners/pinterest/README.md, "Identifiers"). Errors name the field and the reason, never the value: they end
up in import reports, API answers and logs, where raw PII must not.
"""

import re
import unicodedata
from typing import cast

from canvas.models import Customer

EMAIL = "email"
MAID = "maid"

# The stored column's width: a longer email could not be saved (CharFields always have one).
EMAIL_MAX_LENGTH = cast(int, Customer._meta.get_field("email").max_length)
# local@domain.tld: no whitespace or second @, no empty domain label, a TLD of 2+ chars.
_EMAIL = re.compile(r"[^\s@]+@(?:[^\s@.]+\.)+[^\s@.]{2,}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Android and iOS hand out the all-zero id when the user turned ad tracking off.
ALL_ZERO_MAID = "00000000-0000-0000-0000-000000000000"


class InvalidIdentifier(ValueError):
    """A value that is not a usable identifier; `reason` says why, without the value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NoIdentifier(InvalidIdentifier):
    """No identifier at all: missing, blank, or the all-zero MAID of a device with tracking off.

    Stored customer data takes it as "no id" (an empty field); hashing for
    Pinterest refuses it like any other invalid identifier.
    """


def stripped_text(value: object, field: str) -> str:
    """The value trimmed; NoIdentifier when it is missing or blank, InvalidIdentifier if not text."""
    if value is None:
        raise NoIdentifier(field, "missing")
    if not isinstance(value, str):
        raise InvalidIdentifier(field, f"not text ({type(value).__name__})")
    text = value.strip()
    if not text:
        raise NoIdentifier(field, "empty")
    return text


def plain_email(text: str) -> str | None:
    """The email as normalize_email returns it when `text` (trimmed, not blank) is valid
    printable ASCII; None when only normalize_email can tell (non-ASCII, or invalid).

    The common case in one pass, for imports that check a million cells.
    """
    if text.isascii() and text.isprintable():
        email = text.lower()  # ASCII is its own NFC form; printable holds no control character
        if len(email) <= EMAIL_MAX_LENGTH and _EMAIL.fullmatch(email):
            return email
    return None


def plain_maid(text: str) -> str | None:
    """The MAID as stored for `text` (trimmed, not blank): lowercased, or "" for the
    all-zero id; None when it is not a MAID (normalize_maid says why)."""
    maid = text.lower()
    if _UUID.fullmatch(maid):
        return "" if maid == ALL_ZERO_MAID else maid
    return None


def normalize_email(value: object) -> str:
    """Trimmed, lowercased, NFC email that looks like local@domain.tld."""
    text = stripped_text(value, EMAIL)
    if (plain := plain_email(text)) is not None:
        return plain
    if text.isascii():
        email = text.lower()  # ASCII is its own NFC form
    else:
        # NFC after lowercasing too: lower() can decompose (e.g. "İ" becomes "i" + a combining dot).
        email = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower())
    # Printable text has no control character: the per-character look-up only when it is not.
    has_control = not email.isprintable() and any(unicodedata.category(ch) == "Cc" for ch in email)
    if has_control or not _EMAIL.fullmatch(email) or len(email) > EMAIL_MAX_LENGTH:
        raise InvalidIdentifier(EMAIL, "not an email address of the form local@domain.tld")
    return email


def normalize_maid(value: object) -> str:
    """Trimmed, lowercased mobile advertising id (GAID/IDFA) in UUID 8-4-4-4-12 form."""
    maid = stripped_text(value, MAID).lower()
    if not _UUID.fullmatch(maid):
        raise InvalidIdentifier(MAID, "not a UUID of the form 8-4-4-4-12 hex digits")
    if maid == ALL_ZERO_MAID:
        raise NoIdentifier(MAID, "all-zero id (the device has ad tracking turned off)")
    return maid
