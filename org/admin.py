"""The organisation in the admin: units, outlets and staff (with their role and unit). Every
edit made here is audited (``audit.admin.AuditedAdminMixin``)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdminMixin

from .models import Outlet, StaffProfile, Unit


class UnitScopedAdmin(admin.ModelAdmin):
    """Admin lists read through the same unit scope as the API and pages."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


class OutletInline(admin.TabularInline):
    model = Outlet
    extra = 0
    fields = ["code", "name", "address", "is_active"]


@admin.register(Unit)
class UnitAdmin(AuditedAdminMixin, UnitScopedAdmin):
    list_display = ["code", "name", "name_en", "kind", "head", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "name_en"]
    inlines = [OutletInline]


@admin.register(Outlet)
class OutletAdmin(AuditedAdminMixin, UnitScopedAdmin):
    list_display = ["code", "name", "unit", "is_active"]
    list_filter = ["unit", "is_active"]
    search_fields = ["code", "name"]
    list_select_related = ["unit"]


class StaffProfileInline(admin.StackedInline):
    """Edited with the user: ``StaffUserAdmin``'s audit event lists the profile's changed fields
    (Django's change message covers the inline), never the values — a mobile number is not logged."""

    model = StaffProfile
    can_delete = False
    fields = ["role", "unit", "extension", "mobile"]


def mask_mobile(mobile: str) -> str:
    """``13800000001`` → ``138****0001``, as ``banking.masking.mask_mobile`` (org sits below banking
    and cannot import it)."""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else mobile


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(AuditedAdminMixin, UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "role", "unit", "mobile", "is_active", "last_login"]
    list_select_related = ["profile__unit"]
    list_filter = ["profile__role", "is_active", "profile__unit"]

    @admin.display(description=_("role"), ordering="profile__role")
    def role(self, obj):
        return obj.profile.get_role_display() if hasattr(obj, "profile") else ""

    @admin.display(description=_("unit"), ordering="profile__unit__code")
    def unit(self, obj):
        return obj.profile.unit if hasattr(obj, "profile") else ""

    @admin.display(description=_("mobile number"))
    def mobile(self, obj):
        # Lists show it masked; the full number only on the user's own form, to edit it.
        profile = getattr(obj, "profile", None)
        return mask_mobile(profile.mobile) if profile is not None and profile.mobile else ""
