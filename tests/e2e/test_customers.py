"""A marketer imports customers from a CSV through the browser and finds them in the table."""

import re

import pytest
from playwright.sync_api import expect

from canvas.models import Customer

CSV = (
    "external_id,email,ios_idfa,android_gaid,ads_tracking_enabled,plan\n"
    "cust-1001,ada@example.com,6d92078a-8246-4ba4-ae5b-76104861e7dc,,true,gold\n"
    "cust-1002,grace@example.com,,38400000-8cf0-11bd-b23e-10b96e40000d,true,silver\n"
    "cust-1003,not-an-email,,,false,gold\n"
    "cust-1004,alan@example.com,,,false,bronze\n"
    "cust-1005,katherine@example.com,1e0c3a52-8f2e-4c6b-9a41-0b7c2d5e6f70,,true,gold\n"
    "cust-1006,edsger@example.com,,,true,silver\n"
)


@pytest.mark.usefixtures("media_root")
def test_import_a_csv_with_a_bad_row_and_browse_the_customers(page, log_in, marketer, screenshot):
    log_in(marketer)
    page.get_by_role("link", name="Customers", exact=True).click()
    expect(page.get_by_test_id("customers-empty")).to_contain_text("No customers yet")
    page.get_by_role("button", name="Import a CSV").click()

    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "spring-customers.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.get_by_test_id("import-percent")).to_have_text("100 %")
    expect(page.get_by_test_id("import-progress")).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("import-created")).to_have_text("5")
    expect(page.get_by_test_id("import-skipped")).to_have_text("1")
    error = page.get_by_test_id("import-error-row")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("4")
    expect(error).to_contain_text("cust-1003")
    expect(error).to_contain_text("not an email address of the form local@domain.tld")
    screenshot(page, "07-customer-import")

    page.get_by_role("button", name="View customers").click()
    rows = page.get_by_test_id("customer-row")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("cust-1006")
    expect(page.get_by_text("cust-1003")).to_have_count(0)
    screenshot(page, "06-customers")

    page.get_by_placeholder("External ID or email, or the start of one").fill("ada@")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name="cust-1001").click()
    expect(page).to_have_url(re.compile(r"/w/acme/customers/\d+/$"))
    expect(page.get_by_test_id("customer-identifiers")).to_contain_text(
        "6d92078a-8246-4ba4-ae5b-76104861e7dc"
    )
    expect(page.get_by_test_id("customer-attributes")).to_contain_text("gold")
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == [
        "cust-1001",
        "cust-1002",
        "cust-1004",
        "cust-1005",
        "cust-1006",
    ]
