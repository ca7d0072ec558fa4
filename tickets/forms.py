"""Forms of the work-order pages. They only parse input; rules are in ``services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.api.validation import validate_in_range
from core.widgets import DateInput
from org.models import Unit

from .models import Category, ContactKind, State

TEXTAREA = forms.Textarea(attrs={"rows": 3})


def form_errors(form) -> str:
    """A form's errors on one line, each after its field's label (for a page's error message)."""
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else ''} {' '.join(errs)}".strip()
        for name, errs in form.errors.items()
    )


class TicketCreateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactKind.choices, initial=ContactKind.COMPLAINT)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    description = forms.CharField(label=_("Description"), max_length=4000, widget=TEXTAREA)
    customer = forms.IntegerField(label=_("Customer number"), required=False, min_value=1)
    call_id = forms.CharField(label=_("Call"), required=False, max_length=128)
    received_at = forms.DateTimeField(
        validators=[validate_in_range],
        label=_("Received"),
        required=False,
        help_text=_("Leave empty for now; earlier for letters or complaints taken at an outlet."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


class DispatchForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=_("Unit"),
        queryset=Unit.objects.filter(is_active=True).order_by("kind", "code"),
        to_field_name="code",
        empty_label=None,
    )


class ReplyForm(forms.Form):
    result = forms.CharField(label=_("Result"), max_length=4000, widget=TEXTAREA)
    resolved = forms.TypedChoiceField(
        label=_("Resolved"),
        choices=[("true", _("Yes, resolved")), ("false", _("No, could not be resolved"))],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
        initial="true",
    )
    adjustment_amount = forms.CharField(
        label=_("Amount to adjust (yuan)"),
        required=False,
        max_length=20,
        help_text=_("ATM mis-posting and refund work orders: the amount the center should post to the customer."),
    )


class ReviewForm(forms.Form):
    accepted = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("true", _("Accept the reply")), ("false", _("Return for rework"))],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
        initial="true",
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=4000, widget=TEXTAREA)


class ExtendForm(forms.Form):
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=60)
    reason = forms.CharField(label=_("Reason"), max_length=4000, widget=TEXTAREA)


class DecisionForm(forms.Form):
    extension = forms.IntegerField(widget=forms.HiddenInput)
    approve = forms.TypedChoiceField(
        choices=[("true", _("Approve")), ("false", _("Reject"))], coerce=lambda value: value == "true"
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=4000)


class CallbackForm(forms.Form):
    satisfied = forms.TypedChoiceField(
        label=_("Customer satisfied"),
        choices=[("true", _("Satisfied")), ("false", _("Not satisfied"))],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
        initial="true",
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=4000, widget=TEXTAREA)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=4000)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=4000)


class EmptyForm(forms.Form):
    pass


class MergeForm(forms.Form):
    into = forms.IntegerField(label=_("Merge into work order no."), min_value=1)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"), allow_empty_file=True)


class AdjustmentForm(forms.Form):
    account = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class AdjustmentDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        choices=[("true", _("Approve")), ("false", _("Reject"))], coerce=lambda value: value == "true"
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=4000)


class CustomerLinkForm(forms.Form):
    """Find the customer by mobile, full card or account number, or ID last 6 (in the POST body:
    a full number never goes into a URL) and link the one that matches."""

    q = forms.CharField(label=_("Mobile, card or account number, or ID last 6"), min_length=4, max_length=32)


class ListFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("All states"))] + State.choices)
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All categories"))] + Category.choices
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    date_from = forms.DateField(
        label=_("Received from"), required=False, widget=DateInput(), validators=[validate_in_range]
    )
    date_to = forms.DateField(label=_("to"), required=False, widget=DateInput(), validators=[validate_in_range])
    # First dispatched and closed (work orders dispatched to a unit) on these local dates, as the
    # reports count "dispatched" and "closed": their figures link here.
    dispatched_from = forms.DateField(
        label=_("Dispatched from"), required=False, widget=DateInput(), validators=[validate_in_range]
    )
    dispatched_to = forms.DateField(label=_("to"), required=False, widget=DateInput(), validators=[validate_in_range])
    closed_from = forms.DateField(
        label=_("Closed from"), required=False, widget=DateInput(), validators=[validate_in_range]
    )
    closed_to = forms.DateField(label=_("to"), required=False, widget=DateInput(), validators=[validate_in_range])
    customer = forms.IntegerField(label=_("Customer number"), required=False, min_value=1, max_value=2**62)
    order = forms.ChoiceField(
        label=_("Sort"), required=False, choices=[("received", _("Newest first")), ("due", _("Due first"))]
    )

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("All units"))] + [
            (unit.code, f"{unit.code} {unit.name}") for unit in units
        ]


class CalendarDayForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DateInput(), validators=[validate_in_range])
    is_working_day = forms.TypedChoiceField(
        label=_("The day is"),
        choices=[("false", _("a holiday (rest day)")), ("true", _("a working day (make-up day)"))],
        coerce=lambda value: value == "true",
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=60)


class CalendarYearForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, widget=forms.HiddenInput)
    complete = forms.TypedChoiceField(choices=[("true", "true"), ("false", "false")], coerce=lambda v: v == "true")
