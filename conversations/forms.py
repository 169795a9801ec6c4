from django import forms
from django.utils.translation import gettext_lazy as _

from conversations.services.outbound import MAX_CONTENT


class ReplyForm(forms.Form):
    content = forms.CharField(
        label=_("Reply"), max_length=MAX_CONTENT, widget=forms.Textarea(attrs={"rows": 3})
    )


class NoteForm(forms.Form):
    content = forms.CharField(
        label=_("Private note"), max_length=MAX_CONTENT, widget=forms.Textarea(attrs={"rows": 3})
    )
