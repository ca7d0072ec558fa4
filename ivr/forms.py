"""Forms of the IVR pages (menu editor, announcements, statistics range)."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.api.validation import validate_in_range
from core.widgets import DateInput

from .menu import KEY_PATTERN, OPTION_DIGITS
from .models import Announcement, MenuNode

DIGIT_ORDER = [*"1234567890", "*"]


class NodeForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=40)
    kind = forms.ChoiceField(label=_("Kind"), choices=MenuNode.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    prompt_key = forms.SlugField(label=_("Prompt"), max_length=40, required=False)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    next_key = forms.ChoiceField(label=_("Next node"), required=False)
    queue = forms.SlugField(label=_("Queue"), max_length=40, required=False)

    def __init__(self, *args, node_keys: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        targets = [("", "—")] + [(key, key) for key in node_keys]
        cast(forms.ChoiceField, self.fields["next_key"]).choices = targets
        for digit in DIGIT_ORDER:
            self.fields[f"option_{digit}"] = forms.ChoiceField(label=digit, choices=targets, required=False)

    def clean_key(self):
        key = self.cleaned_data["key"]
        if not KEY_PATTERN.fullmatch(key):
            raise forms.ValidationError(_("Lowercase letters, digits, _ or -, starting with a letter."))
        return key

    def option_fields(self):
        return [self[f"option_{digit}"] for digit in DIGIT_ORDER]

    def node_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in ("kind", "title", "prompt_key", "text", "next_key", "queue")}
        data["options"] = {
            digit: self.cleaned_data[f"option_{digit}"]
            for digit in DIGIT_ORDER
            if digit in OPTION_DIGITS and self.cleaned_data.get(f"option_{digit}")
        }
        if data["kind"] != "menu":
            data["options"] = {}
        return data

    @classmethod
    def initial_for(cls, node: MenuNode) -> dict:
        initial = {
            "key": node.key,
            "kind": node.kind,
            "title": node.title,
            "prompt_key": node.prompt_key,
            "text": node.text,
            "next_key": node.next_key,
            "queue": node.queue,
        }
        for option in node.options.all():
            initial[f"option_{option.digit}"] = option.target_key
        return initial


class PromptForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=40)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 2}))


class AnnouncementForm(forms.ModelForm):
    starts_at = forms.DateTimeField(
        validators=[validate_in_range],
        label=_("Starts at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        validators=[validate_in_range],
        label=_("Ends at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    class Meta:
        model = Announcement
        fields = ["title", "text", "position", "starts_at", "ends_at", "enabled", "priority"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The announcement must end after it starts."))
        return cleaned

    @classmethod
    def blank_initial(cls) -> dict:
        now = timezone.localtime().replace(second=0, microsecond=0)
        return {"starts_at": now, "ends_at": now + timedelta(days=30)}


class StatisticsForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=DateInput(), validators=[validate_in_range])
    date_to = forms.DateField(label=_("To"), widget=DateInput(), validators=[validate_in_range])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("date_to is before date_from."))
        if start and end and (end - start).days > 366:
            self.add_error("date_to", _("At most 367 days at a time."))
        return cleaned
