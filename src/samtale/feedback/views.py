"""Feedback's screens: the customer's comment page (public, the signed link is the proof), the
survey settings of each inbox, and the Past feedback section redrawn live."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from samtale.accounts.access import membership_of
from samtale.accounts.http import acting, action_view, member_required
from samtale.core.ratelimit import hit
from samtale.feedback import actions, sidebar
from samtale.feedback.models import COMMENT_LIMIT, MAX_DELAY_MINUTES, QUESTION_LIMIT
from samtale.inbox.access import access_conversation
from samtale.inbox.models import Inbox

PAGE_RATE = "30/m"


@require_http_methods(["GET", "POST"])
def feedback_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the question with the score the link chose (link checkers and previews open
    links: only the button records an answer); POST records or changes it. In the language
    the survey was sent in."""
    if not hit(f"feedback-page:{request.META.get('REMOTE_ADDR', '')}", PAGE_RATE):
        return HttpResponse(_("Too many requests; try again in a minute."), status=429, content_type="text/plain")
    try:
        survey = actions.survey_for_token(token)
    except ValidationError as error:
        status = 410 if error.code == "expired" else 404
        return render(request, "feedback/page.html", {"gone": " ".join(error.messages)}, status=status)
    language = survey.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context: dict[str, Any] = {"survey": survey, "error": "", "saved": False, "comment_limit": COMMENT_LIMIT}
        status = 200
        chosen: Any = request.GET.get("score")
        if request.method == "POST":
            chosen = request.POST.get("score")
            try:
                survey = actions.answer(
                    token, score=request.POST.get("score"), comment=request.POST.get("comment", ""),
                    second_answer=request.POST.get("second_answer", ""),
                )  # fmt: skip
                context["survey"], context["saved"] = survey, True
            except ValidationError as error:
                context["error"], status = " ".join(error.messages), 400
                context["comment"] = str(request.POST.get("comment", ""))[:COMMENT_LIMIT]
                context["second_answer"] = str(request.POST.get("second_answer", ""))[:COMMENT_LIMIT]
        try:
            context["chosen"] = actions.parse_score(chosen) if chosen not in (None, "") else survey.score
        except ValidationError:
            context["chosen"] = survey.score
        context["editable"] = actions.can_change(survey)
        context["editable_until"] = (survey.answered_at + actions.EDITABLE_FOR) if survey.answered_at else None
        context["scale"] = range(1, 6)
        return render(request, "feedback/page.html", context, status=status)


def _inboxes(account_id: int) -> list[Inbox]:
    return list(Inbox.objects.filter(account_id=account_id).select_related("survey_settings").order_by("name"))


@require_GET
@member_required
def settings_page(request: HttpRequest) -> HttpResponse:
    membership = membership_of(acting(request))
    rows = []
    for inbox in _inboxes(membership.account_id):
        found = getattr(inbox, "survey_settings", None)
        rows.append((inbox, found or actions.settings_of(inbox)))
    with translation.override("nb"):
        default_nb = actions.default_question()
    with translation.override("en"):
        default_en = actions.default_question()
    return render(
        request,
        "feedback/settings.html",
        {
            "rows": rows,
            "can_edit": membership.has_permission("inbox_settings"),
            "section": "feedback",
            "default_nb": default_nb,
            "default_en": default_en,
            "max_delay": MAX_DELAY_MINUTES,
            "question_limit": QUESTION_LIMIT,
        },
    )


@action_view
def settings_save(request: HttpRequest, inbox_id: int) -> HttpResponse:
    user = acting(request)
    inbox = Inbox.objects.filter(pk=inbox_id, account_id=membership_of(user).account_id).first()
    if inbox is None:
        from django.http import Http404

        raise Http404("No such inbox")
    post = request.POST
    actions.update_settings(
        inbox, acting_user=user, enabled=post.get("enabled") == "1", delay_minutes=post.get("delay_minutes", "0"),
        question_nb=post.get("question_nb", ""), question_en=post.get("question_en", ""),
        second_nb=post.get("second_nb", ""), second_en=post.get("second_en", ""),
    )  # fmt: skip
    return HttpResponseRedirect(reverse("feedback_settings") + f"#survey-{inbox.pk}")


@require_GET
@member_required
def conversation_feedback(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The Past feedback section of a conversation (its live redraw)."""
    conversation = access_conversation(acting(request), conversation_id)
    data = sidebar.past_section(conversation, acting(request))
    if data is None:
        return HttpResponse('<section class="sidebar-section" id="sidebar-past-feedback"></section>')
    return render(request, "feedback/sidebar_feedback.html", {"section": sidebar.PAST, "data": data})
