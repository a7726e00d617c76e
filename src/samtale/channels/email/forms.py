"""The email channel's settings form: its own SMTP and IMAP servers."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class MailServerForm(forms.Form):
    SECURITY = [("none", _("None (unencrypted)")), ("starttls", "STARTTLS"), ("tls", "SSL/TLS")]
    smtp_host = forms.CharField(required=False, max_length=255)
    smtp_port = forms.IntegerField(min_value=1, max_value=65535, initial=587)
    smtp_security = forms.ChoiceField(choices=SECURITY)
    smtp_username = forms.CharField(required=False, max_length=255)
    smtp_password = forms.CharField(required=False, max_length=255, widget=forms.PasswordInput)
    imap_host = forms.CharField(required=False, max_length=255)
    imap_port = forms.IntegerField(min_value=1, max_value=65535, initial=993)
    imap_security = forms.ChoiceField(choices=SECURITY)
    imap_username = forms.CharField(required=False, max_length=255)
    imap_password = forms.CharField(required=False, max_length=255, widget=forms.PasswordInput)
    imap_folder = forms.CharField(max_length=255, initial="INBOX")
