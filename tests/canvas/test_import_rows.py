"""An import checks a chunk column by column: it must give exactly what row by row gives."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from canvas.models import CustomerImportRowError
from canvas.services.customers import customers_prepare
from canvas.services.import_rows import customer_chunk_parse, customer_row_parse

COLUMNS = ("external_id", "email", "ios_idfa", "android_gaid", "ads_tracking_enabled", "plan", "n")
CELLS = {
    "external_id": ["c1", "c2", " c3 ", "", "  ", "x" * 255, "x" * 256, "Ünï", "c1"],
    "email": [
        "ada@example.com",
        " Ada@Example.COM ",
        "",
        "bob@",
        "İnci@example.com",
        "a\u00a0b@example.com",
        "a@b.c",
        "x" * 310 + "@example.com",
        "zoë@exämple.com",
    ],
    "ios_idfa": [
        "6D92078A-8246-4BA4-AE5B-76104861E7DC",
        "00000000-0000-0000-0000-000000000000",
        "",
        "not-a-uuid",
        " 6d92078a-8246-4ba4-ae5b-76104861e7dc ",
    ],
    "android_gaid": ["38400000-8cf0-11bd-b23e-10b96e40000d", "", "38400000"],
    "ads_tracking_enabled": ["true", "FALSE", " yes ", "0", "", "maybe", "ja"],
    "plan": ["gold", "", "007", "-7", "3.50", "=cmd", "9" * 30],
    "n": ["1", "", "x"],
}
ROW = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in CELLS.items()}).map(
    lambda cells: [cells[name] for name in COLUMNS]
)
# Now and then a row with a cell too many or too few.
ROWS = st.lists(
    st.one_of(ROW, ROW.map(lambda cells: [*cells, "extra"]), ROW.map(lambda cells: cells[:3])),
    min_size=1,
    max_size=30,
)


def row_by_row(rows):
    records, skipped = [], []
    for line, cells in rows:
        parsed = customer_row_parse(columns=COLUMNS, line=line, cells=cells)
        (skipped if isinstance(parsed, CustomerImportRowError) else records).append(parsed)
    return customers_prepare(records), skipped


def notes(skipped):
    return sorted((e.line, e.external_id, e.field, e.reason) for e in skipped)


@settings(max_examples=300, deadline=None)
@given(cells=ROWS)
def test_columns_give_what_rows_give(cells):
    rows = [(line, row) for line, row in enumerate(cells, start=2)]
    expected, expected_skipped = row_by_row(rows)
    chunk = customer_chunk_parse(COLUMNS, rows)
    assert chunk.rows == len(rows)
    assert chunk.customers.encoded == expected.encoded
    assert chunk.customers.lines == expected.lines
    assert sorted(chunk.customers.later) == sorted(expected.later)
    assert notes(chunk.skipped) == notes(expected_skipped)


def test_a_clean_chunk_takes_the_column_path_and_gives_sorted_rows():
    rows = [
        (2, ["b", "B@x.io", "", "", "yes", "gold", "1"]),
        (3, ["a", "", "", "38400000-8cf0-11bd-b23e-10b96e40000d", "", "", "2.5"]),
    ]
    chunk = customer_chunk_parse(COLUMNS, rows)
    assert json.loads(chunk.customers.encoded.payload) == [
        ["a", None, None, "38400000-8cf0-11bd-b23e-10b96e40000d", None, {"n": 2.5}, 3],
        ["b", "b@x.io", None, None, True, {"plan": "gold", "n": 1}, 2],
    ]
    # Every row carries none of the standard fields the other carries.
    assert (chunk.customers.encoded.common, chunk.customers.encoded.varying) == ([], [0, 2, 3])
    assert chunk.customers.encoded.varying_rows == [
        ("a", None, "38400000-8cf0-11bd-b23e-10b96e40000d", None),
        ("b", "b@x.io", None, True),
    ]
    assert chunk.skipped == []
