from django.contrib import admin

from partners.models import ConnectionEvent, PinterestAdAccount, PinterestConnection

# Read-only: connections change through the partner page, where OAuth happens. The
# encrypted token columns are never listed, so they appear nowhere in the admin.
_CONNECTION_FIELDS = (
    "workspace",
    "status",
    "pinterest_username",
    "pinterest_user_id",
    "pinterest_business_name",
    "scopes",
    "connected_at",
    "connected_by",
    "disconnected_at",
    "access_token_expires_at",
    "refresh_token_expires_at",
    "last_refreshed_at",
    "last_error_message",
    "last_error_request_id",
    "last_error_at",
    "created_at",
    "updated_at",
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AdAccountInline(admin.TabularInline):
    model = PinterestAdAccount
    fields = readonly_fields = (
        "ad_account_id",
        "name",
        "country",
        "currency",
        "permissions",
        "disconnected_at",
    )
    extra = 0
    max_num = 0
    can_delete = False


class ConnectionEventInline(admin.TabularInline):
    model = ConnectionEvent
    fields = readonly_fields = ("created_at", "kind", "actor", "detail")
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        # An inline cannot be sliced: the latest 50 are enough; the full trail has its own list.
        ids = super().get_queryset(request).values_list("pk", flat=True)[:50]
        return super().get_queryset(request).filter(pk__in=list(ids))


@admin.register(PinterestConnection)
class PinterestConnectionAdmin(ReadOnlyAdmin):
    list_display = [
        "workspace",
        "pinterest_username",
        "status",
        "access_token_expires_at",
        "last_refreshed_at",
        "connected_at",
    ]
    list_filter = ["status"]
    search_fields = ["workspace__name", "workspace__slug", "pinterest_username"]
    fields = _CONNECTION_FIELDS
    readonly_fields = _CONNECTION_FIELDS
    inlines = [AdAccountInline, ConnectionEventInline]


@admin.register(PinterestAdAccount)
class PinterestAdAccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "ad_account_id", "connection", "connected_at", "disconnected_at"]
    list_filter = [("disconnected_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "ad_account_id", "connection__workspace__name"]


@admin.register(ConnectionEvent)
class ConnectionEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "connection", "kind", "actor", "detail"]
    list_filter = ["kind"]
    search_fields = ["connection__workspace__name", "detail"]
