"""Entry segments: a list of filters on customers, compiled to one query.

A filter is a dict. Built-in checks: `{"kind": "has_email"}`,
`{"kind": "has_maid"}`, `{"kind": "ads_tracking_enabled"}`. Attribute filters:
`{"kind": "attribute", "attribute": "tier", "op": "equals", "value": "gold"}`
with op one of OPERATORS. Standard fields (external_id, email) are filterable
by name; anything else is a custom attribute. All filters must hold (AND).
"""

import math
import unicodedata
from typing import Any

from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.db.models.fields.json import KeyTransform

from canvas.models import Customer, Workspace
from canvas.services.customers import MAX_ATTRIBUTE_NAME

BUILT_IN = {
    "has_email": ("Has email", ~Q(email="")),
    "has_maid": ("Has mobile advertising id", ~Q(ios_idfa="") | ~Q(android_gaid="")),
    "ads_tracking_enabled": ("Ads tracking enabled", Q(ads_tracking_enabled=True)),
}
OPERATORS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "contains": "contains",
    "gt": "is greater than",
    "lt": "is less than",
    "exists": "exists",
}
MAX_VALUE_LENGTH = 1_000
# Customer columns a filter may name directly; any other name is a custom attribute.
TEXT_FIELDS = {"external_id", "email"}


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _number(value: Any) -> float | None:
    """The value as a finite number, else None ("nan", "inf" and "1e400" are not numbers here)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def segment_errors(filters: Any) -> list[str]:
    """What is wrong with a segment, one message per faulty filter; empty when valid."""
    if not isinstance(filters, list):
        return ["The entry segment must be a list of filters."]
    errors = []
    for n, item in enumerate(filters, start=1):
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind in BUILT_IN:
            continue
        if kind != "attribute":
            errors.append(f"Filter {n}: unknown filter {kind!r}.")
            continue
        op = item.get("op")
        attribute, value = item.get("attribute"), item.get("value")
        if not isinstance(attribute, str) or not attribute.strip():
            errors.append(f"Filter {n}: choose an attribute.")
        elif len(attribute.strip()) > MAX_ATTRIBUTE_NAME:
            errors.append(
                f"Filter {n}: attribute names are at most {MAX_ATTRIBUTE_NAME} characters."
            )
        elif _has_control(attribute) or (isinstance(value, str) and _has_control(value)):
            # PostgreSQL cannot compare text holding NUL; no attribute name has control characters.
            errors.append(f"Filter {n}: remove the control characters (NUL, line breaks, tabs).")
        elif isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            errors.append(f"Filter {n}: compare with at most {MAX_VALUE_LENGTH:,} characters.")
        elif '"' in attribute:
            # SQLite's JSON paths cannot address such a key.
            errors.append(f"Filter {n}: attribute names with double quotes cannot be filtered on.")
        elif op not in OPERATORS:
            errors.append(f"Filter {n}: unknown comparison {op!r}.")
        elif op in ("gt", "lt") and _number(item.get("value")) is None:
            errors.append(f"Filter {n}: “{OPERATORS[op]}” needs a number.")
        elif op != "exists" and item.get("value") in (None, ""):
            errors.append(f"Filter {n}: enter a value to compare with.")
    return errors


class IsJSONNumber(Func):
    """True when a custom attribute holds a JSON number, not text that looks like one.

    Without it, "greater than 30" compares text with numbers, and SQLite and
    PostgreSQL order mixed JSON types differently.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, attribute: str):
        super().__init__(F("attributes"))
        self.attribute = attribute

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.attribute}"'  # segment_errors refuses names with a double quote
        return f"(json_type({sql}, %s) IN ('integer', 'real'))", [*params, path]

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(jsonb_typeof({sql} -> %s) = 'number')", [*params, self.attribute]


def _attribute_q(path: str, attribute: str, op: str, value: Any) -> Q:
    """The filter on `path`: a Customer column, or the alias of a custom attribute's value."""
    custom = attribute not in TEXT_FIELDS
    if op == "exists":
        # has_key takes the name as a value, never as part of a lookup path.
        return Q(attributes__has_key=attribute) if custom else ~Q(**{path: ""})
    if op == "contains":
        return Q(**{f"{path}__icontains": str(value)})
    if op in ("gt", "lt"):
        compare = Q(**{f"{path}__{op}": _number(value)})
        return Q(IsJSONNumber(attribute)) & compare if custom else compare
    # equals / not_equals: compare text to text, numbers to numbers.
    match = Q(**{path: value})
    if custom and _number(value) is not None and isinstance(value, str):
        match |= Q(**{path: _number(value)})
    return match if op == "equals" else ~match


def segment_apply(customers: QuerySet[Customer], filters: list[dict[str, Any]]) -> QuerySet:
    """Narrow a queryset of customers to those a (valid) segment matches.

    An attribute name is data, never a lookup path: each custom attribute becomes
    an alias of its JSON value (KeyTransform takes the name as a key), and lookups
    are written on our alias. `attributes__{name}` would let "x__regex" run a
    marketer's regex in the database, or "x__isnull" match everyone.
    """
    aliases: dict[str, KeyTransform] = {}
    q = Q()
    for n, item in enumerate(filters):
        kind = item["kind"]
        if kind in BUILT_IN:
            q &= BUILT_IN[kind][1]
            continue
        attribute = item["attribute"].strip()
        path = attribute
        if attribute not in TEXT_FIELDS:
            path = f"segment_attribute_{n}"
            aliases[path] = KeyTransform(attribute, "attributes")
        q &= _attribute_q(path, attribute, item["op"], item.get("value"))
    return customers.alias(**aliases).filter(q)


def segment_customers(*, workspace: Workspace, filters: list[dict[str, Any]]) -> QuerySet[Customer]:
    """The workspace's customers matching a (valid) segment."""
    return segment_apply(Customer.objects.filter(workspace=workspace), filters)


def segment_describe(filters: list[dict[str, Any]]) -> list[str]:
    """Each filter in words, for the builder and the canvas list."""
    words = []
    for item in filters:
        if item.get("kind") in BUILT_IN:
            words.append(BUILT_IN[item["kind"]][0])
        else:
            op = OPERATORS.get(str(item.get("op")), item.get("op"))
            words.append(f"{item.get('attribute')} {op}{_value_words(item)}")
    return words


def _value_words(item: dict[str, Any]) -> str:
    """The compared value as the summary shows it: numbers bare, text in quotes."""
    if item.get("op") == "exists":
        return ""
    value = item.get("value")
    if _number(value) is not None:
        return f" {value}"
    return f" “{value}”"


def segment_warnings(filters: list[dict[str, Any]], *, known_attributes: set[str]) -> list[str]:
    """Filters naming an attribute none of the sampled customers has: a typo, most likely.

    A warning, not an error: the sample (customer_attribute_names) is of recent
    customers, and a segment may name an attribute before the data arrives.
    """
    warnings = []
    for n, item in enumerate(filters, start=1):
        attribute = item.get("attribute") if item.get("kind") == "attribute" else None
        if not isinstance(attribute, str) or not attribute.strip():
            continue
        name = attribute.strip()
        if name not in TEXT_FIELDS and name not in known_attributes:
            warnings.append(
                f"Filter {n}: no recent customer has an attribute “{name}”. Check its spelling "
                "(names are case-sensitive)."
            )
    return warnings
