"""Forms of the chat widget's settings and the chatflow editor (one row of fields per step)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from samtale.channels.chat.models import Chatflow, ChatWidget

MAX_ROWS = 50
BLANK_ROWS = 3  # empty rows under a flow's steps, to add more


class WidgetForm(forms.Form):
    allowed_origins = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
        label=_("Sites that may show the chat"),
        help_text=_("One address per line, like https://www.example.com"),
    )  # fmt: skip
    color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$", label=_("Colour"), widget=forms.TextInput(attrs={"type": "color"})
    )
    position = forms.ChoiceField(
        choices=[("right", _("Bottom right")), ("left", _("Bottom left"))], label=_("Position")
    )
    greeting_en = forms.CharField(max_length=300, label=_("Greeting (English)"))
    greeting_nb = forms.CharField(max_length=300, label=_("Greeting (Norwegian)"))
    away_en = forms.CharField(
        max_length=500, label=_("Away message (English)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    away_nb = forms.CharField(
        max_length=500, label=_("Away message (Norwegian)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    inactivity_minutes = forms.IntegerField(
        min_value=5, max_value=24 * 60, label=_("A chat ends after this many minutes without the visitor")
    )

    def __init__(self, data: Any = None, *, instance: ChatWidget) -> None:
        initial = {
            "allowed_origins": "\n".join(instance.allowed_origins), "color": instance.color,
            "position": instance.position, "greeting_en": instance.greeting_en, "greeting_nb": instance.greeting_nb,
            "away_en": instance.away_en, "away_nb": instance.away_nb, "inactivity_minutes": instance.inactivity_minutes,
        }  # fmt: skip
        super().__init__(data, initial=initial)

    def action_values(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        values["allowed_origins"] = [line for line in values["allowed_origins"].splitlines() if line.strip()]
        return values


class ChatflowForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name (shown as the bot's name)"))
    enabled = forms.BooleanField(required=False, label=_("On"))
    url_contains = forms.CharField(max_length=300, required=False, label=_("Greets on pages whose address contains"))
    when = forms.ChoiceField(
        choices=[
            ("always", _("Always")),
            ("away", _("When the team is away")),
            ("online", _("When someone is available")),
        ],
        label=_("When"),
    )
    position = forms.IntegerField(min_value=0, max_value=1000, initial=0, label=_("Order"))

    rows: list[dict[str, str]]

    def __init__(
        self, data: Any = None, initial: dict[str, Any] | None = None, rows: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(data, initial=initial)
        self.rows = rows if rows is not None else (self._rows_from(data) if data is not None else [])
        self.rows = [*self.rows, *[_blank() for _i in range(BLANK_ROWS)]][: MAX_ROWS + BLANK_ROWS]

    @classmethod
    def for_flow(cls, flow: Chatflow | None) -> ChatflowForm:
        if flow is None:
            return cls(initial={"enabled": True, "when": "always", "position": 0}, rows=[])
        rows = []
        for step in flow.steps:
            rows.append({
                "id": step["id"], "type": step["type"], "text": step.get("text", ""),
                "buttons": ", ".join(step.get("buttons", [])), "save_to": step.get("save_to", ""),
                "next": step.get("next", ""), "on": step.get("on", ""),
                "cases": ", ".join(f"{c['equals']} = {c['next']}" for c in step.get("cases", [])),
                "otherwise": step.get("else", ""),
            })  # fmt: skip
        initial = {"name": flow.name, "enabled": flow.enabled, "url_contains": flow.url_contains, "when": flow.when,
                   "position": flow.position}  # fmt: skip
        return cls(initial=initial, rows=rows)

    @staticmethod
    def _rows_from(data: Any) -> list[dict[str, str]]:
        rows = []
        for n in range(MAX_ROWS + BLANK_ROWS):
            row = {k: str(data.get(f"step-{n}-{k}", ""))[:2000] for k in _blank()}
            if row["type"]:
                rows.append(row)
        return rows

    def steps(self) -> list[dict[str, Any]]:
        """The rows as chatflow steps (checked by `flows.validate_steps` in the action)."""
        steps = []
        for row in self.rows:
            if not row["type"]:
                continue
            cases = []
            for part in row["cases"].split(","):
                equals, _sep, target = part.partition("=")
                if equals.strip():
                    cases.append({"equals": equals.strip(), "next": target.strip()})
            steps.append({
                "id": row["id"].strip(), "type": row["type"], "text": row["text"],
                "buttons": [b.strip() for b in row["buttons"].split(",") if b.strip()],
                "save_to": row["save_to"], "next": row["next"].strip(), "on": row["on"].strip(), "cases": cases,
                "else": row["otherwise"].strip(),
            })  # fmt: skip
        return steps

    def action_values(self) -> dict[str, Any]:
        return {**self.cleaned_data, "steps": self.steps()}


def _blank() -> dict[str, str]:
    return {
        "id": "",
        "type": "",
        "text": "",
        "buttons": "",
        "save_to": "",
        "next": "",
        "on": "",
        "cases": "",
        "otherwise": "",
    }
