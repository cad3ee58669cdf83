"""Entry segments: a list of filters on customers, compiled to one query.

A filter is a dict. Built-in checks: `{"kind": "has_email"}`,
`{"kind": "has_maid"}`, `{"kind": "ads_tracking_enabled"}`. Attribute filters:
`{"kind": "attribute", "attribute": "tier", "op": "equals", "value": "gold"}`
with op one of OPERATORS. Standard fields (external_id, email) are filterable
by name; anything else is a custom attribute. All filters must hold (AND).
"""

from typing import Any

from django.db.models import BooleanField, F, Func, Q, QuerySet

from canvas.models import Customer, Workspace

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
# Customer columns a filter may name directly; any other name is a custom attribute.
TEXT_FIELDS = {"external_id", "email"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


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
        if not str(item.get("attribute") or "").strip():
            errors.append(f"Filter {n}: choose an attribute.")
        elif '"' in str(item["attribute"]):
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


def _attribute_q(attribute: str, op: str, value: Any) -> Q:
    path = attribute if attribute in TEXT_FIELDS else f"attributes__{attribute}"
    if op == "exists":
        if attribute in TEXT_FIELDS:
            return ~Q(**{path: ""})
        return Q(**{"attributes__has_key": attribute})
    if op == "contains":
        return Q(**{f"{path}__icontains": str(value)})
    if op in ("gt", "lt"):
        compare = Q(**{f"{path}__{op}": _number(value)})
        return compare if attribute in TEXT_FIELDS else Q(IsJSONNumber(attribute)) & compare
    # equals / not_equals: compare text to text, numbers to numbers.
    match = Q(**{path: value})
    if attribute not in TEXT_FIELDS and _number(value) is not None and isinstance(value, str):
        match |= Q(**{path: _number(value)})
    return match if op == "equals" else ~match


def segment_q(filters: list[dict[str, Any]]) -> Q:
    """The Q expression selecting the customers a (valid) segment matches."""
    q = Q()
    for item in filters:
        kind = item["kind"]
        if kind in BUILT_IN:
            q &= BUILT_IN[kind][1]
        else:
            q &= _attribute_q(item["attribute"].strip(), item["op"], item.get("value"))
    return q


def segment_customers(*, workspace: Workspace, filters: list[dict[str, Any]]) -> QuerySet[Customer]:
    """The workspace's customers matching a (valid) segment."""
    return Customer.objects.filter(workspace=workspace).filter(segment_q(filters))


def segment_describe(filters: list[dict[str, Any]]) -> list[str]:
    """Each filter in words, for the builder and the canvas list."""
    words = []
    for item in filters:
        if item.get("kind") in BUILT_IN:
            words.append(BUILT_IN[item["kind"]][0])
        else:
            op = OPERATORS.get(item.get("op"), item.get("op"))
            value = "" if item.get("op") == "exists" else f" “{item.get('value')}”"
            words.append(f"{item.get('attribute')} {op}{value}")
    return words
