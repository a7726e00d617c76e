"""Event types of feedback: an answer (new or changed) goes to the account's group with ids
only; a browser showing that conversation or contact redraws its piece."""

from __future__ import annotations

from samtale.core.events import Event, account_group

FEEDBACK_CHANGED = "feedback.changed"


def feedback_changed(account_id: int, survey_id: int, conversation_id: int, contact_id: int | None) -> Event:
    return Event(
        type=FEEDBACK_CHANGED,
        groups=(account_group(account_id),),
        data={
            "survey_ids": [survey_id],
            "conversation_ids": [conversation_id],
            "contact_ids": [contact_id] if contact_id else [],
        },
    )
