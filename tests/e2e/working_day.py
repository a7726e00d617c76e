"""Brings an e2e server's seeded database (tests/e2e/seed.py) to the state a working day leaves it in,
through actions: Bob has unread notifications, an admin set him Away, a teammate with a long name,
a customer with a long name and a long subject whose thread holds an attachment and a hidden
message. Run as `python -m tests.e2e.working_day` with the server's environment; prints ids."""

from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samtale.settings")

LONG_NAME = "Kristoffer Alexander Bjørnstad-Haugland Montgomery-Fjellheim de la Vega"
LONG_SUBJECT = (
    "Faktura 2026-114 for oktober er feil: dere har fakturert oss for 48 lisenser, men vi har bare 12 aktive "
    "brukere siden august, og kreditnotaen fra september er ikke trukket fra – kan dere se på det før forfall?"
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def main() -> None:
    import django

    django.setup()
    from samtale.accounts import actions as account_actions
    from samtale.accounts.models import Seat, User
    from samtale.availability.actions import set_away
    from samtale.inbox import actions
    from samtale.inbox.models import Channel, Inbox

    alice, bob = User.objects.get(email="alice@acme.test"), User.objects.get(email="bob@acme.test")
    inbox = Inbox.objects.get(name="Support", members=bob)
    email = Channel.objects.get(inbox=inbox, kind="email")
    teammate = account_actions.create_user(
        inbox.account, acting_user=alice, email="kristoffer@acme.test", name=LONG_NAME, password="x" * 20,
        seat=Seat.SERVICE,
    )  # fmt: skip
    actions.add_inbox_member(inbox, acting_user=alice, user=teammate)
    first = actions.receive_inbound(
        email,
        actions.InboundMessage(
            sender_address="kristoffer.bjornstad-haugland@kunde-med-et-langt-domene.example", sender_name=LONG_NAME,
            subject=LONG_SUBJECT, text="Hei! Se vedlagt skjermbilde av fakturaen.",
            attachments=[SimpleNamespace(filename="skjermbilde av faktura 2026-114 oktober (endelig versjon).png",
                                         content_type="image/png", payload=PNG, content_id="", inline=False)],
        ),
    )  # fmt: skip
    conversation = first.conversation
    second = actions.receive_inbound(
        email,
        actions.InboundMessage(
            sender_address=first.sender_address,
            sender_name=LONG_NAME,
            subject="Re: " + LONG_SUBJECT,
            text="Her er kortnummeret mitt: 4111 1111 1111 1111",
            conversation=conversation,
        ),
    )
    actions.hide_message(second, acting_user=bob)
    actions.assign_conversation(conversation, acting_user=alice, owner=bob)
    for n in range(3):  # unread notifications: mentions from a teammate
        actions.add_comment(conversation, acting_user=alice, text=f"@Bob Agent kan du ta denne ({n + 1})?")
    set_away(bob, acting_user=alice)  # "An admin set your status to Away."
    json.dump({"conversation": conversation.pk, "inbox": inbox.pk}, sys.stdout)


if __name__ == "__main__":
    main()
