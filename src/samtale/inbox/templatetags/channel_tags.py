"""A channel package's own pieces of the shared screens (its settings, its status), named by its
adapter (`inbox.adapters`): the screens include them without knowing the kind."""

from __future__ import annotations

from typing import Any

from django import template

from samtale.inbox import adapters

register = template.Library()


@register.filter
def channel_template(channel: Any, part: str) -> str:
    adapter = adapters.adapter_for(channel.kind)
    return adapter.templates.get(part, "") if adapter is not None else ""


@register.filter
def kind_installed(kind: str) -> bool:
    """Whether channels of `kind` have their package here (else they receive and send nothing)."""
    return adapters.installed(str(kind))


@register.filter
def kind_can(kind: str, capability: str) -> bool:
    """Whether channels of `kind` can `capability` ("compose", "forward", …: `adapters.Capabilities`)."""
    adapter = adapters.adapter_for(str(kind))
    return bool(adapter is not None and getattr(adapter.capabilities, capability, False))


@register.filter
def conversation_title(conversation: Any) -> str:
    """What a conversation is called: its subject; one without (a chat, a call) is named by its
    channel and contact, e.g. "Chat with Kari"."""
    from django.utils.translation import gettext as _

    if conversation.subject:
        return str(conversation.subject)
    contact = conversation.contact
    if contact is not None:
        return _("%(kind)s with %(name)s") % {
            "kind": conversation.get_channel_kind_display(),
            "name": contact.display_name,
        }
    return _("(no subject)")
