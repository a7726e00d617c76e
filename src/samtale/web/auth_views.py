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
    """Wrong passwords slow down the one trying them, never lock the account: failures are counted
    per client address and email; after SAMTALE_LOGIN_FREE_FAILURES each attempt waits longer
    (doubling, at most 15 minutes), and a success clears the count. The client address is the
    proxy's X-Forwarded-For only from trusted proxies (`core.proxies`). Each address may also try
    at most SAMTALE_LOGIN_RATE sign-ins (spraying many accounts)."""

    def clean(self) -> dict[str, Any]:
        request: HttpRequest | None = self.request
        ip = request.META.get("REMOTE_ADDR", "") if request else ""
        email = (self.data.get("username") or "").strip().lower()[:254]
        key = f"login:{ip}:{email}"
        wait = ratelimit.backoff_remaining(key)
        if wait:
            raise forms.ValidationError(
                _("Too many failed sign-ins. Try again in %(seconds)d seconds.") % {"seconds": wait}
            )
        if not ratelimit.hit(f"login:ip:{ip}", settings.SAMTALE_LOGIN_RATE):
            raise forms.ValidationError(_("Too many sign-in attempts. Wait a minute and try again."))
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            ratelimit.record_failure(key, settings.SAMTALE_LOGIN_FREE_FAILURES)
            raise
        ratelimit.clear(key)
        return cleaned


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = RateLimitedLoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> Any:
        response = super().form_valid(form)
        self.request.session["language"] = getattr(form.get_user(), "language", "en")
        return response
