from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from samtale.core import ratelimit


class RateLimitedLoginForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        request: HttpRequest | None = self.request
        ip = request.META.get("REMOTE_ADDR", "") if request else ""
        email = (self.data.get("username") or "").strip().lower()
        if not ratelimit.hit(f"login:ip:{ip}", settings.SAMTALE_LOGIN_RATE) or not ratelimit.hit(
            f"login:email:{email}", settings.SAMTALE_LOGIN_RATE
        ):
            raise forms.ValidationError(_("Too many sign-in attempts. Wait a minute and try again."))
        return super().clean()


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = RateLimitedLoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> Any:
        response = super().form_valid(form)
        self.request.session["language"] = getattr(form.get_user(), "language", "en")
        return response
