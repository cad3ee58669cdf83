from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from canvas.models import (
    ApiKey,
    CustomerImport,
    CustomerImportRowError,
    Invitation,
    Membership,
    User,
    Workspace,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_by", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "workspace",
        "role",
        "invited_by",
        "created_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["email", "workspace__name"]
    # The token is the secret of the link: operators never need to see it.
    exclude = ["token"]
    readonly_fields = ["accepted_at", "accepted_by", "invited_by"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are shown by name, prefix and hash only; the raw key is never stored."""

    list_display = ["name", "workspace", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix", "workspace__name"]
    readonly_fields = ["prefix", "key_hash", "created_by", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        # Keys are created in the product, where the raw value can be shown once.
        return False


class CustomerImportRowErrorInline(admin.TabularInline):
    model = CustomerImportRowError
    fields = ["line", "external_id", "field", "reason"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        # An admin inline cannot be sliced; showing the first rows is enough to diagnose.
        ids = super().get_queryset(request).order_by("line").values_list("pk", flat=True)[:100]
        return super().get_queryset(request).filter(pk__in=list(ids))


@admin.register(CustomerImport)
class CustomerImportAdmin(admin.ModelAdmin):
    """Read-only: imports are started from the Customers page or `manage.py import_customers`."""

    list_display = [
        "file_name",
        "workspace",
        "status",
        "total_rows",
        "processed_rows",
        "created_count",
        "updated_count",
        "error_count",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["file_name", "workspace__name"]
    inlines = [CustomerImportRowErrorInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
