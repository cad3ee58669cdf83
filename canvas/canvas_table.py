"""The django-tables2 table of the canvas list."""

import django_tables2 as tables
from django.utils.html import format_html

from canvas.models import Canvas


class CanvasTable(tables.Table):
    name = tables.Column(linkify=True)
    status = tables.Column()
    entry_type = tables.Column(verbose_name="Entry")
    entered = tables.Column(verbose_name="Entered", attrs={"td": {"class": "num"}})
    created_by = tables.Column(verbose_name="Created by", accessor="created_by__email", default="—")
    updated_at = tables.DateTimeColumn(verbose_name="Last edited", format="M j, Y H:i")

    class Meta:
        model = Canvas
        fields = ["name", "status", "entry_type", "entered", "created_by", "updated_at"]
        order_by = "-updated_at"
        attrs = {"class": "data-table", "data-testid": "canvas-table"}
        empty_text = "No canvases yet."

    def render_status(self, value, record):
        return format_html(
            '<span class="badge badge-{}">{}</span>', record.status, record.get_status_display()
        )

    def render_entered(self, value):
        return f"{value:,}"
