import hashlib
import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiences.identifiers import hash_email, hash_maid, is_sha256_hex
from canvas.customer_fields import (
    EMAIL,
    MAID,
    InvalidIdentifier,
    NoIdentifier,
    normalize_email,
    normalize_maid,
)

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
TEST_EMAIL_SHA256 = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"

emails = st.emails().map(str)
maids = st.uuids().map(str).filter(lambda value: value != str(uuid.UUID(int=0)))
any_text = st.text(max_size=80)


def test_known_vector_for_test_at_example_com():
    assert hashlib.sha256(b"test@example.com").hexdigest() == TEST_EMAIL_SHA256
    assert hash_email("test@example.com") == TEST_EMAIL_SHA256


def test_email_is_trimmed_and_lowercased_before_hashing():
    assert hash_email("  Test@Example.COM\n") == TEST_EMAIL_SHA256


def test_email_is_nfc_normalized():
    decomposed = "Jose\u0301@example.com"  # "e" + combining acute accent
    composed = "jos\u00e9@example.com"
    assert normalize_email(decomposed) == composed
    assert hash_email(decomposed) == hashlib.sha256(composed.encode()).hexdigest()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing"),
        ("", "empty"),
        ("   ", "empty"),
        ("test", "not an email address of the form local@domain.tld"),
        ("test@example", "not an email address of the form local@domain.tld"),
        ("test@@example.com", "not an email address of the form local@domain.tld"),
        ("te st@example.com", "not an email address of the form local@domain.tld"),
        ("test@example..com", "not an email address of the form local@domain.tld"),
        ("@example.com", "not an email address of the form local@domain.tld"),
        ("test@example.c", "not an email address of the form local@domain.tld"),
    ],
)
def test_invalid_emails_are_refused_with_a_reason_and_without_the_value(value, reason):
    with pytest.raises(InvalidIdentifier) as caught:
        hash_email(value)
    assert caught.value.field == EMAIL
    assert caught.value.reason == reason
    if value and value.strip():
        assert value.strip() not in str(caught.value)


def test_maid_is_trimmed_lowercased_and_hashed():
    maid = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
    expected = hashlib.sha256(maid.lower().encode()).hexdigest()
    assert hash_maid(f" {maid} ") == expected
    assert normalize_maid(maid) == maid.lower()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "missing"),
        ("", "empty"),
        (
            "00000000-0000-0000-0000-000000000000",
            "all-zero id (the device has ad tracking turned off)",
        ),
        ("6d92078a82464ba4ae5b76104861e7dc", "not a UUID of the form 8-4-4-4-12 hex digits"),
        ("6d92078a-8246-4ba4-ae5b-76104861e7d", "not a UUID of the form 8-4-4-4-12 hex digits"),
        ("gd92078a-8246-4ba4-ae5b-76104861e7dc", "not a UUID of the form 8-4-4-4-12 hex digits"),
        ("{6d92078a-8246-4ba4-ae5b-76104861e7dc}", "not a UUID of the form 8-4-4-4-12 hex digits"),
    ],
)
def test_invalid_maids_are_refused_with_a_reason(value, reason):
    with pytest.raises(InvalidIdentifier) as caught:
        hash_maid(value)
    assert caught.value.field == MAID
    assert caught.value.reason == reason


def test_a_sha256_value_passes_through_unhashed():
    assert hash_email(TEST_EMAIL_SHA256) == TEST_EMAIL_SHA256
    assert hash_maid(TEST_EMAIL_SHA256) == TEST_EMAIL_SHA256
    assert hash_email(f" {TEST_EMAIL_SHA256} ") == TEST_EMAIL_SHA256


def test_uppercase_hex_is_not_taken_for_a_hash():
    # Only lowercase hex counts as pre-hashed; anything else must be a valid email/MAID.
    with pytest.raises(InvalidIdentifier):
        hash_email(TEST_EMAIL_SHA256.upper())
    assert not is_sha256_hex(TEST_EMAIL_SHA256.upper())


@pytest.mark.parametrize(
    ("hash_function", "value"),
    [
        (hash_email, None),
        (hash_email, " "),
        (hash_maid, ""),
        (hash_maid, "00000000-0000-0000-0000-000000000000"),
    ],
)
def test_no_identifier_is_refused_when_hashing(hash_function, value):
    # Customer data stores these as "no id"; Pinterest must never get a hash of them.
    with pytest.raises(NoIdentifier):
        hash_function(value)


@given(emails)
def test_email_hash_is_64_lowercase_hex_and_idempotent(email):
    hashed = hash_email(email)
    assert SHA256_HEX.fullmatch(hashed)
    assert hash_email(hashed) == hashed


@given(emails)
def test_email_hash_ignores_case_and_surrounding_whitespace(email):
    assert hash_email(f"  {email.upper()}\t") == hash_email(email.lower())


@given(maids)
def test_maid_hash_is_64_lowercase_hex_and_idempotent(maid):
    hashed = hash_maid(maid)
    assert SHA256_HEX.fullmatch(hashed)
    assert hash_maid(hashed) == hashed
    assert hash_maid(maid.upper()) == hashed


@given(any_text)
def test_any_text_either_hashes_to_64_lowercase_hex_or_is_refused(value):
    for hash_function in (hash_email, hash_maid):
        try:
            hashed = hash_function(value)
        except InvalidIdentifier:
            continue
        assert SHA256_HEX.fullmatch(hashed)
        assert hash_function(hashed) == hashed
