"""Validation of the identifiers a customer record carries.

These rules are the project's single definition of a valid email and mobile
advertising id (see ../shared/pinterest-api-v5.md, "Identifiers and hashing"):
imports and the ingestion API use them to refuse bad data with a reason, and
the Audience Sync step builds its hashing on them.
"""

import re
import unicodedata

# local@domain.tld: no spaces, one @, a dot in the domain, a TLD of 2+ letters.
_EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@.]{2,}$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ALL_ZERO_MAID = "00000000-0000-0000-0000-000000000000"


class InvalidIdentifier(ValueError):
    """A value that is not a usable email or mobile advertising id; the message says why."""


def normalize_email(value: str) -> str:
    """Trim, NFC-normalize and lowercase an email; raise InvalidIdentifier if it is not one."""
    if not isinstance(value, str):
        raise InvalidIdentifier(f"email must be text, not {type(value).__name__}")
    email = unicodedata.normalize("NFC", value.strip()).lower()
    if not _EMAIL_RE.match(email) or len(email) > 320:
        raise InvalidIdentifier(f"{value!r} is not an email address (expected local@domain.tld)")
    return email


def normalize_maid(value: str) -> str:
    """Trim and lowercase an IDFA/GAID; raise InvalidIdentifier unless it is a non-zero UUID."""
    if not isinstance(value, str):
        raise InvalidIdentifier(f"advertising id must be text, not {type(value).__name__}")
    maid = value.strip().lower()
    if not _UUID_RE.match(maid):
        raise InvalidIdentifier(f"{value!r} is not a mobile advertising id (expected a UUID)")
    if maid == ALL_ZERO_MAID:
        # iOS and Android report the all-zero id when the person limited ad tracking.
        raise InvalidIdentifier("the all-zero advertising id means tracking is off")
    return maid
