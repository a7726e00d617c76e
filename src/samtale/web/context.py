"""Template context shared by every screen."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from samtale.accounts.access import membership_of


def permissions(request: HttpRequest) -> dict[str, Any]:
    """`perms_inbox_settings`: may the signed-in user manage inboxes (read only when a template asks)."""

    def check() -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        try:
            return membership_of(user).has_permission("inbox_settings")
        except Exception:
            return False

    return {"perms_inbox_settings": SimpleLazyObject(check)}


def ui_strings(request: HttpRequest) -> dict[str, Any]:
    """What the page's script says (toasts, notices), translated like the rest of the page: the
    script reads them from a JSON block (`{{ ui_strings|json_script }}` in the base template)."""

    def strings() -> dict[str, str]:
        return {
            "error": _("Error %(status)s"),
            "network_not_saved": _("Network error — not saved"),
            "not_saved": _("Not saved (error %(status)s)"),
            "undo": _("Undo"),
            "undone": _("Undone"),
            "network_not_undone": _("Network error — not undone"),
            "mentioned": _("You were mentioned"),
            "assigned": _("A conversation was assigned to you"),
            "open": _("open"),
            "selected": _("%(n)s selected"),
            "copied": _("Copied"),
            "link_copied": _("Link copied: %(url)s"),
            "layout_not_saved": _("Layout not saved"),
        }

    return {"ui_strings": strings}  # called by the template only where it is used
