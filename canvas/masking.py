"""Customers' identifiers as operators see them: enough to recognise one, not to use it.

A raw email or mobile advertising id is personal data that Pinterest never receives
from us; the operators' admin and anything else shown outside the workspace's own
pages show them cut like this.
"""


def mask_email(email: str) -> str:
    """`a***@example.com`: the first character and the domain."""
    if not email:
        return "—"
    local, at, domain = email.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else f"{local[:1]}***"


def mask_device_id(device_id: str) -> str:
    """`1a2b…`: the first four characters of an IDFA or GAID."""
    return f"{device_id[:4]}…" if device_id else "—"
