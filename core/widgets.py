"""Form widgets shared by the apps' pages."""

from django import forms


class DateInput(forms.DateInput):
    """``<input type="date">``: browsers take its value in ISO form only, whatever the language
    (Chinese formats a date ``2026/11/02``, which a date input shows as empty)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")
