from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from samtale.accounts.models import PERMISSION_LABELS, Role, Seat
from samtale.core.bounds import parse_id
from samtale.inbox import adapters
from samtale.inbox.models import ChannelKind


class ReplyForm(forms.Form):
    html = forms.CharField(required=False, max_length=500_000)
    text = forms.CharField(required=False, max_length=200_000)
    channel_kind = forms.ChoiceField(choices=[("", ""), *ChannelKind.choices], required=False)


class PasswordForm(forms.Form):
    current = forms.CharField(
        label=_("Current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        max_length=200,
    )
    new = forms.CharField(
        label=_("New password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), max_length=200
    )
    repeat = forms.CharField(
        label=_("New password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=200,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new") and data.get("repeat") and data["new"] != data["repeat"]:
            self.add_error("repeat", _("The two new passwords differ."))
        return data


class CommentForm(forms.Form):
    text = forms.CharField(max_length=20_000)


class AssignForm(forms.Form):
    owner = forms.CharField(required=False, max_length=20)

    def clean_owner(self) -> int | None:
        value = self.cleaned_data["owner"]
        if value in ("", "none"):
            return None
        owner = parse_id(value)
        if owner is None:
            raise forms.ValidationError(_("Choose a teammate."))
        return owner


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ("close", "trash", "restore", "delete", "reopen")])
    ids = forms.CharField(max_length=20_000)

    def clean_ids(self) -> list[int]:
        ids = [parse_id(p) for p in self.cleaned_data["ids"].replace(",", " ").split()[:500]]
        if not ids or None in ids:
            raise forms.ValidationError(_("Select at least one conversation."))
        return [i for i in ids if i is not None]


class ComposeForm(forms.Form):
    channel = forms.IntegerField()
    to = forms.EmailField()
    subject = forms.CharField(max_length=500)
    html = forms.CharField(required=False, max_length=500_000)
    text = forms.CharField(required=False, max_length=200_000)


class CustomViewForm(forms.Form):
    name = forms.CharField(max_length=100)
    shared = forms.BooleanField(required=False)


class UserForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField()
    password = forms.CharField(required=False, min_length=8, widget=forms.PasswordInput)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.USER)
    seat = forms.ChoiceField(choices=Seat.choices, required=False)
    permissions = forms.MultipleChoiceField(
        choices=list(PERMISSION_LABELS.items()), required=False, widget=forms.CheckboxSelectMultiple
    )


class MembershipForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    seat = forms.ChoiceField(choices=Seat.choices, required=False)
    permissions = forms.MultipleChoiceField(
        choices=list(PERMISSION_LABELS.items()), required=False, widget=forms.CheckboxSelectMultiple
    )


class TeamForm(forms.Form):
    name = forms.CharField(max_length=200)


class NameForm(forms.Form):
    name = forms.CharField(max_length=200)


class ChannelForm(forms.Form):
    kind = forms.ChoiceField(choices=adapters.kind_choices)  # (called per form: installed kinds only)
    name = forms.CharField(max_length=200, required=False)
    address = forms.CharField(max_length=254, required=False)


class MemberForm(forms.Form):
    user = forms.IntegerField()


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=[("en", "English"), ("nb", "Norsk bokmål")])


class ForwardForm(forms.Form):
    to = forms.EmailField()
    note = forms.CharField(required=False, max_length=10000)


class TranscriptForm(forms.Form):
    to = forms.EmailField(max_length=254)


def reply_files(request: Any) -> list[Any]:
    """Files attached to a reply, as parts to store (each at most SAMTALE_MAX_REPLY_FILE_BYTES)."""
    from dataclasses import dataclass

    from django.conf import settings
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    @dataclass
    class Part:
        filename: str
        content_type: str
        payload: bytes
        content_id: str = ""
        inline: bool = False

    parts = []
    for upload in request.FILES.getlist("files")[:11]:
        if upload.size > settings.SAMTALE_MAX_REPLY_FILE_BYTES:
            limit = settings.SAMTALE_MAX_REPLY_FILE_BYTES // (1024 * 1024)
            raise ValidationError(
                _("%(name)s is too large (at most %(mb)s MB).") % {"name": upload.name[:100], "mb": limit}
            )
        name = (upload.name or "file").replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
        kind = (upload.content_type or "application/octet-stream")[:100]
        parts.append(Part(filename=name, content_type=kind, payload=upload.read()))
    return parts
