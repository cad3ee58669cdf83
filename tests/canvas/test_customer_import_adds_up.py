"""Issue 12, "Imports add up": created + updated + skipped + merged = rows, duplicates by line."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from canvas.models import Customer, CustomerImport
from canvas.services.imports import (
    IMPORT_CHUNK_ROWS,
    TEMPLATE_CSV,
    customer_import_error_report,
    customer_import_file,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.usefixtures("media_root")

# Line 1 is the header. c1 is named on lines 2, 5 and 7; c2 on line 3 (skipped) and 6.
DUPLICATES_CSV = (
    "external_id,email,plan,ltv\n"
    "c1,first@example.com,gold,\n"
    "c2,not-an-email,silver,1\n"
    "c3,c3@example.com,,\n"
    "c1,,platinum,10\n"
    "c2,c2@example.com,,2\n"
    "c1,last@example.com,,\n"
)


def import_text(workspace, text, name="dupes.csv"):
    return customer_import_file(workspace=workspace, file=io.BytesIO(text.encode()), file_name=name)


def outcome(job):
    job.refresh_from_db()
    return (
        job.total_rows,
        job.created_count,
        job.updated_count,
        job.error_count,
        job.merged_count,
    )


def notes(job):
    return list(
        job.row_errors.values_list("line", "external_id", "field", "reason", "merged_into_line")
    )


def stored(workspace):
    return {
        c.external_id: (c.email, c.attributes)
        for c in Customer.objects.filter(workspace=workspace).order_by("external_id")
    }


def test_later_rows_of_an_external_id_merge_into_its_first_line_and_everything_adds_up(workspace):
    CustomerFactory(workspace=workspace, external_id="c3", email="old@example.com")
    job = import_text(workspace, DUPLICATES_CSV)
    # 6 rows: c1 created, c2 (line 6) created, c3 updated, c2 line 3 skipped, c1 twice merged.
    assert outcome(job) == (6, 2, 1, 1, 2)
    assert notes(job) == [
        (3, "c2", "email", "not an email address of the form local@domain.tld", None),
        (5, "c1", "external_id", "merged into line 2", 2),
        (7, "c1", "external_id", "merged into line 2", 2),
    ]
    # Later rows win, cell by cell; empty cells leave what an earlier row set.
    assert stored(workspace) == {
        "c1": ("last@example.com", {"plan": "platinum", "ltv": 10}),
        "c2": ("c2@example.com", {"ltv": 2}),
        "c3": ("c3@example.com", {}),
    }
    first = Customer.objects.get(external_id="c1")
    assert (first.last_import, first.last_import_line) == (job, 2)
    assert Customer.objects.get(external_id="c2").last_import_line == 6


def test_duplicates_across_chunks_merge_into_the_line_of_the_earlier_chunk(workspace):
    rows = IMPORT_CHUNK_ROWS + 10
    lines = ["external_id,n"] + [f"c{i},{i}" for i in range(rows)]
    # The last rows name customers of the first chunk again (lines 2 and 3).
    lines += ["c0,first-again", "c1,second-again", "c0,first-once-more"]
    job = import_text(workspace, "\n".join(lines) + "\n")
    assert outcome(job) == (rows + 3, rows, 0, 0, 3)
    last = rows + 1  # the line of c{rows - 1}
    assert notes(job) == [
        (last + 1, "c0", "external_id", "merged into line 2", 2),
        (last + 2, "c1", "external_id", "merged into line 3", 3),
        (last + 3, "c0", "external_id", "merged into line 2", 2),
    ]
    assert Customer.objects.get(external_id="c0").attributes == {"n": "first-once-more"}
    assert Customer.objects.filter(workspace=workspace).count() == rows


def test_importing_the_same_file_again_updates_and_still_merges_its_duplicates(workspace):
    import_text(workspace, DUPLICATES_CSV)
    again = import_text(workspace, DUPLICATES_CSV, name="again.csv")
    assert outcome(again) == (6, 0, 3, 1, 2)
    assert [n[:2] + n[3:] for n in notes(again)] == [
        (3, "c2", "not an email address of the form local@domain.tld", None),
        (5, "c1", "merged into line 2", 2),
        (7, "c1", "merged into line 2", 2),
    ]


def test_the_report_the_page_and_the_command_show_merged_rows(
    as_marketer, workspace, tmp_path, settings
):
    job = import_text(workspace, DUPLICATES_CSV)
    assert "".join(customer_import_error_report(customer_import=job)) == (
        "line,external_id,field,reason\r\n"
        "3,c2,email,not an email address of the form local@domain.tld\r\n"
        "5,c1,external_id,merged into line 2\r\n"
        "7,c1,external_id,merged into line 2\r\n"
    )
    page = as_marketer.get(
        reverse("canvas:customer_import_detail", kwargs={"workspace": "acme", "import_id": job.pk})
    )
    html = page.content.decode()
    assert '<dd data-testid="import-skipped">1</dd>' in html
    assert '<dd data-testid="import-merged">2</dd>' in html
    assert "<h2>Skipped and merged rows</h2>" in html
    listing = as_marketer.get(reverse("canvas:customer_import", kwargs={"workspace": "acme"}))
    assert '<td class="num">1</td>\n      <td class="num">2</td>' in listing.content.decode()

    path = tmp_path / "dupes.csv"
    path.write_text(DUPLICATES_CSV)
    out = io.StringIO()
    call_command("import_customers", str(path), workspace="acme", stdout=out, stderr=io.StringIO())
    second = CustomerImport.objects.latest("pk")
    assert out.getvalue() == (
        "Imported dupes.csv into Acme Outdoor: 0 created, 3 updated, 1 skipped, "
        "2 merged into earlier rows.\n"
        "Skipped and merged rows (first 3 of 3):\n"
        "  line 3 (c2): email: not an email address of the form local@domain.tld\n"
        "  line 5 (c1): external_id: merged into line 2\n"
        "  line 7 (c1): external_id: merged into line 2\n"
        f"Full report: {settings.SITE_URL}/w/acme/customers/imports/{second.pk}/errors.csv\n"
    )


def test_the_template_downloads_and_imports_as_is(as_marketer, workspace):
    url = reverse("canvas:customer_import_template", kwargs={"workspace": "acme"})
    response = as_marketer.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="pinsync-customers-template.csv"'
    )
    assert response.content.decode() == TEMPLATE_CSV
    page = as_marketer.get(reverse("canvas:customer_import", kwargs={"workspace": "acme"}))
    html = page.content.decode()
    assert f'href="{url}"' in html
    assert (
        '<pre class="example" data-testid="import-example"><code>'
        "external_id,email,ios_idfa,android_gaid,ads_tracking_enabled,plan,lifetime_value\n"
        "cust-1001,ada@example.com,6d92078a-8246-4ba4-ae5b-76104861e7dc,,true,gold,1250.50\n"
        "cust-1002,grace@example.com,,38400000-8cf0-11bd-b23e-10b96e40000d,false,silver,310\n"
        "</code></pre>"
    ) in html
    upload = SimpleUploadedFile("template.csv", response.content, content_type="text/csv")
    job = customer_import_file(workspace=workspace, file=upload, file_name="template.csv")
    assert outcome(job) == (2, 2, 0, 0, 0)
    assert list(
        Customer.objects.order_by("external_id").values_list(
            "external_id", "email", "ios_idfa", "android_gaid", "ads_tracking_enabled", "attributes"
        )
    ) == [
        (
            "cust-1001",
            "ada@example.com",
            "6d92078a-8246-4ba4-ae5b-76104861e7dc",
            "",
            True,
            {"plan": "gold", "lifetime_value": 1250.5},
        ),
        (
            "cust-1002",
            "grace@example.com",
            "",
            "38400000-8cf0-11bd-b23e-10b96e40000d",
            False,
            {"plan": "silver", "lifetime_value": 310},
        ),
    ]


def test_the_customers_list_shows_its_total_and_links_past_imports(
    as_marketer, workspace, other_workspace
):
    jobs = [import_text(workspace, f"external_id\nc{i}\n", name=f"batch-{i}.csv") for i in range(4)]
    CustomerFactory(workspace=other_workspace)
    url = reverse("canvas:customers", kwargs={"workspace": "acme"})
    html = as_marketer.get(url).content.decode()
    assert '<span class="muted small" data-testid="customers-total">4 in all</span>' in html
    # The three newest, each linked, and the whole list.
    for job in jobs[1:]:
        detail = reverse(
            "canvas:customer_import_detail", kwargs={"workspace": "acme", "import_id": job.pk}
        )
        assert f'<a href="{detail}">{job.file_name}</a>' in html
    assert "batch-0.csv" not in html
    assert '/w/acme/customers/import/#recent-imports">all imports</a>' in html


def test_the_customer_page_says_ads_tracking_starts_off_and_where_the_customer_came_from(
    as_marketer, workspace, api_client
):
    api_client.post(
        "/api/v1/users/track",
        '{"attributes": [{"external_id": "api-1"}]}',
        content_type="application/json",
    )
    job = import_text(workspace, "external_id,ads_tracking_enabled\ncsv-1,true\n", name="in.csv")
    off, on = Customer.objects.get(external_id="api-1"), Customer.objects.get(external_id="csv-1")
    html = as_marketer.get(off.get_absolute_url()).content.decode()
    assert off.ads_tracking_enabled is False
    assert (
        '<span class="small muted" data-testid="tracking-default">Off is where every customer '
        "starts: it turns on only when the API or an import sends <code>ads_tracking_enabled</code>"
        " as true.</span>"
    ) in html
    assert "customer-last-import" not in html
    html = as_marketer.get(on.get_absolute_url()).content.decode()
    assert "tracking-default" not in html
    detail = reverse(
        "canvas:customer_import_detail", kwargs={"workspace": "acme", "import_id": job.pk}
    )
    assert (
        f'<dd data-testid="customer-last-import"><a href="{detail}">in.csv</a>, line 2</dd>'
    ) in html


def test_the_api_docs_say_what_ads_tracking_enabled_defaults_to(client):
    schema = client.get("/api/v1/openapi.json").json()
    field = schema["components"]["schemas"]["CustomerAttributesIn"]["properties"][
        "ads_tracking_enabled"
    ]
    assert field["description"] == (
        "Whether the customer allows ads tracking. A customer created without it has it off "
        "(false) until a call or an import sends true; null or absent leaves it unchanged."
    )
