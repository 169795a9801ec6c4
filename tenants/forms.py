from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Role


class MemberAddForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(label=_("Name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)


class MemberUpdateForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    is_active = forms.BooleanField(label=_("Active"), required=False)
    max_open_tickets = forms.IntegerField(label=_("Capacity"), min_value=0, max_value=1000)
