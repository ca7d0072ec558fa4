"""Admin of the tickets app. Work orders are read-only here (every change goes through the
services, so it has its event); the maintainer edits the holiday calendar, through the same
services as the calendar page (``calendar_day_set``, ``calendar_year_set_complete``): validated,
audited, open deadlines recomputed."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyMixin
from org.admin import UnitScopedAdmin

from .errors import page_message
from .models import CalendarDay, CalendarYear, Ticket, TicketEvent
from .services.calendar import calendar_day_refusal, calendar_day_set, calendar_year_refusal, calendar_year_set_complete

_EVENT_FIELDS = ("created_at", "action", "actor_username", "before", "after", "note")


class TicketEventInline(ReadOnlyMixin, admin.TabularInline):
    model = TicketEvent
    fields = _EVENT_FIELDS
    readonly_fields = _EVENT_FIELDS
    extra = 0


@admin.register(Ticket)
class TicketAdmin(ReadOnlyMixin, UnitScopedAdmin):
    list_display = ["id", "kind", "category", "state", "unit", "received_at", "due_at", "due_estimated", "closed_at"]
    list_filter = ["state", "category", "kind", "due_estimated", "unit"]
    list_select_related = ["unit"]
    search_fields = ["=id", "call_id", "description"]
    date_hierarchy = "received_at"
    inlines = [TicketEventInline]


def _recomputed(request, moved: int) -> None:
    if moved:
        messages.info(request, _("%(count)s open work-order deadlines were recomputed.") % {"count": moved})


def _checked_form(form_class, refusal_of):
    """The admin's form, refused as the service would refuse (``refusal_of(cleaned_data)``)."""

    class CheckedForm(form_class):
        def clean(self):
            data = super().clean()
            if not self.errors and (refusal := refusal_of(self.instance, data)) is not None:
                raise ValidationError(page_message(refusal))
            return data

    return CheckedForm


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "complete", "source", "updated_at", "updated_by", "note"]
    list_filter = ["complete", "source"]
    fields = ["year", "complete", "note"]

    def get_readonly_fields(self, request, obj=None):
        return ["year"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Declaring a year incomplete is the service's (audited); a year's row is not deleted.
        return False

    def get_form(self, request, obj=None, **kwargs):
        def refusal_of(instance, data):
            year = data.get("year", instance.year)
            return calendar_year_refusal(actor=request.user, year=year)

        return _checked_form(super().get_form(request, obj, **kwargs), refusal_of)

    def save_model(self, request, obj, form, change):
        moved = calendar_year_set_complete(actor=request.user, year=obj.year, complete=obj.complete, note=obj.note)
        obj.pk = CalendarYear.objects.get(year=obj.year).pk  # the admin's redirect names the saved row
        _recomputed(request, moved)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_working_day", "name", "source"]
    list_filter = ["is_working_day", "source"]
    date_hierarchy = "date"
    search_fields = ["name"]
    fields = ["date", "is_working_day", "name"]

    def get_readonly_fields(self, request, obj=None):
        # Moving an exception to another date is clearing one day and setting another.
        return ["date"] if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        def refusal_of(instance, data):
            return calendar_day_refusal(actor=request.user, day=data.get("date", instance.date))

        return _checked_form(super().get_form(request, obj, **kwargs), refusal_of)

    def save_model(self, request, obj, form, change):
        moved = calendar_day_set(actor=request.user, day=obj.date, is_working_day=obj.is_working_day, name=obj.name)
        # A setting equal to the Monday–Friday default leaves no row (the service removed it).
        saved = CalendarDay.objects.filter(date=obj.date).first()
        obj.pk, obj.source = (saved.pk, saved.source) if saved is not None else (obj.pk, obj.source)
        _recomputed(request, moved)

    def delete_model(self, request, obj):
        _recomputed(request, self._clear(request, obj))

    def delete_queryset(self, request, queryset):
        _recomputed(request, sum(self._clear(request, day) for day in queryset.order_by("date")))

    def _clear(self, request, day: CalendarDay) -> int:
        """Back to the Monday–Friday default: the service removes the exception, audited."""
        return calendar_day_set(actor=request.user, day=day.date, is_working_day=day.date.weekday() < 5)
