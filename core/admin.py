"""The admin's read-only pages: rows shown, never added, changed or deleted there (business data
changes through the owning app's services, which lock, check and audit)."""

from django.contrib import admin


class ReadOnlyMixin:
    """For a ``ModelAdmin`` or an inline."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass
