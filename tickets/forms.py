"""Forms of the ticket workflow pages (web form, queues, business hours, quick replies)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenants.models import Company, Membership

from .models import Complexity, DistributionRule, Queue
from .services.hours import DAY_KEYS, validate_hours

DAY_LABELS = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
}
WINDOW_RE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


class WebTicketForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 6}))
    complexity = forms.ChoiceField(
        label=_("Complexity"), choices=Complexity.choices, initial=Complexity.MEDIUM
    )
    queue = forms.ModelChoiceField(label=_("Sector"), queryset=Queue.objects.none(), required=False)
    for_other = forms.TypedChoiceField(
        label=_("This request is"),
        choices=[("0", _("For myself")), ("1", _("For another person"))],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
    )
    other_name = forms.CharField(label=_("Their name"), max_length=200, required=False)
    other_email = forms.EmailField(label=_("Their e-mail"), required=False)
    other_phone = forms.CharField(label=_("Their phone"), max_length=32, required=False)

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queue: Any = self.fields["queue"]
        queue.queryset = Queue.objects.for_company(company).order_by("order", "name")


class ChatForm(forms.Form):
    content = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000
    )


class QueueForm(forms.ModelForm):
    members: Any = forms.ModelMultipleChoiceField(
        label=_("Members"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Queue
        fields = [
            "name",
            "color",
            "distribution",
            "greeting",
            "out_of_hours_message",
            "is_default",
            "order",
        ]
        labels = {"order": _("Order")}
        widgets = {
            "color": forms.TextInput(attrs={"type": "color"}),
            "greeting": forms.Textarea(attrs={"rows": 3}),
            "out_of_hours_message": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, company: Company, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        members: Any = self.fields["members"]
        members.queryset = (
            get_user_model()
            .objects.filter(
                pk__in=Membership.objects.for_company(company)
                .filter(is_active=True)
                .values("user_id")
            )
            .order_by("full_name", "email")
        )
        members.label_from_instance = lambda u: f"{u.display_name} <{u.email}>"
        self.fields["distribution"].choices = DistributionRule.choices  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["members"].initial = list(
                self.instance.members.values_list("pk", flat=True)
            )


class HoursForm(forms.Form):
    """A friendly editor for the hours JSON: one line per weekday ("08:00-12:00,
    13:00-18:00"; empty = closed; "22:00-06:00" runs overnight) and holidays."""

    enabled = forms.BooleanField(label=_("Use business hours"), required=False)
    holidays = forms.CharField(
        label=_("Holidays"),
        required=False,
        help_text=_("Dates as YYYY-MM-DD, separated by commas."),
    )
    out_of_hours_message = forms.CharField(
        label=_("Out-of-hours reply"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Sent once per ticket when a customer writes outside business hours. Empty: none."
        ),
    )

    def __init__(self, *args: Any, hours: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hours = hours or {}
        for day in DAY_KEYS:
            self.fields[day] = forms.CharField(
                label=DAY_LABELS[day], required=False, max_length=200
            )
            self.initial.setdefault(day, ", ".join(f"{a}-{b}" for a, b in hours.get(day, [])))
        self.initial.setdefault("enabled", any(day in hours for day in DAY_KEYS))
        self.initial.setdefault("holidays", ", ".join(hours.get("holidays", [])))
        self.order_fields(["enabled", *DAY_KEYS, "holidays", "out_of_hours_message"])

    def day_fields(self) -> list[Any]:
        return [self[day] for day in DAY_KEYS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("enabled"):
            data["hours"] = {}
            return data
        spec: dict[str, Any] = {}
        for day in DAY_KEYS:
            windows = []
            for part in filter(None, (p.strip() for p in (data.get(day) or "").split(","))):
                match = WINDOW_RE.match(part)
                if not match:
                    self.add_error(day, _("Use HH:MM-HH:MM, separated by commas."))
                    break
                windows.append([match[1].zfill(5), match[2].zfill(5)])
            spec[day] = windows
        holidays = [h.strip() for h in (data.get("holidays") or "").split(",") if h.strip()]
        if holidays:
            spec["holidays"] = holidays
        if not self.errors:
            try:
                data["hours"] = validate_hours(spec)
            except ValidationError as exc:
                self.add_error(None, exc)
        return data


class QuickReplyForm(forms.Form):
    shortcut = forms.CharField(label=_("Shortcut"), max_length=40)
    content = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    personal = forms.BooleanField(label=_("Only for me"), required=False, initial=True)
