from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .roles import Role
from .scoping import UnitScopedQuerySet


class Unit(models.Model):
    """A branch legal entity (区县行社, B01…B10) or a head-office department (总行部室)."""

    class Kind(models.TextChoices):
        BRANCH = "branch", _("Branch")
        DEPARTMENT = "department", _("Head-office department")

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("head of unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Receives escalations of the unit's overdue work orders."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "pk"

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Outlet(models.Model):
    """A branch's outlet (营业网点); accounts are opened at one."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="outlets")
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "unit"

    class Meta:
        ordering = ["code"]
        verbose_name = _("outlet")
        verbose_name_plural = _("outlets")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


# A mainland mobile number: 11 ASCII digits starting with 1 (the staff notices by SMS go there).
mobile_validator = RegexValidator(
    r"^1[0-9]{10}\Z", message=_("Enter a mobile number: 11 digits starting with 1."), code="invalid_mobile"
)


class StaffProfile(models.Model):
    """A user's role in the center; unit staff are bound to exactly one unit."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    extension = models.CharField(_("phone extension"), max_length=10, blank=True)
    mobile = models.CharField(
        _("mobile number"),
        max_length=11,
        blank=True,
        validators=[mobile_validator],
        help_text=_("Work-order reminders and escalations are also sent here by SMS. Edited by the system maintainer."),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role=Role.UNIT_STAFF) | Q(unit__isnull=False),
                name="staff_unit_staff_has_unit",
                violation_error_message=_("Branch / department staff must belong to a unit."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"
