"""`samtale demo`: a realistic account to explore, built entirely through actions."""

from __future__ import annotations

import os
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from samtale.accounts import actions as account_actions
from samtale.accounts.models import Account, Role, Seat, User
from samtale.channels.email.actions import verify_address
from samtale.core import clock
from samtale.crm.actions import create_contact
from samtale.crm.models import Contact, PipelineKind
from samtale.crm.pipelines import default_pipeline
from samtale.inbox import actions
from samtale.inbox.models import Channel, ChannelKind, Conversation, Inbox

DEMO_DOMAIN = "demo.samtale.example"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"

PEOPLE = [
    (
        "Ingrid Berg",
        "admin",
        Role.SUPER_ADMIN,
        ["availability_management", "inbox_settings", "hide_messages"],
        Seat.SERVICE,
    ),
    ("Ola Nordmann", "ola", Role.USER, ["availability_management", "hide_messages"], Seat.SERVICE),
    ("Kari Hansen", "kari", Role.USER, ["hide_messages"], Seat.SERVICE),
    ("Lars Johansen", "lars", Role.USER, ["inbox_settings"], Seat.SALES),
    ("Sofie Lie", "sofie", Role.USER, [], Seat.SERVICE),
    ("Per Uten", "per", Role.USER, [], Seat.NONE),
]

FIRST = ["Anna", "Jonas", "Emma", "Henrik", "Maja", "Ole", "Nora", "Erik", "Sara", "Magnus", "Ida", "Tobias",
         "Linnea", "Sindre", "Thea", "Mathias", "Hanna", "Emil", "Julie", "Kristian", "Mia", "Oscar", "Eva",
         "William", "Grace", "Daniel", "Chloe", "Liam", "Olivia", "Noah"]  # fmt: skip
LAST = ["Andersen", "Pedersen", "Nilsen", "Larsen", "Olsen", "Eriksen", "Dahl", "Haugen", "Bakken", "Solberg",
        "Smith", "Brown", "Taylor", "Wilson", "Moen", "Strand"]  # fmt: skip
DOMAINS = ["gmail.com", "outlook.com", "online.no", "hotmail.com"]  # free mail: no company
COMPANIES = ["Fjordkraft Service AS", "Nordlys Bygg AS", "Bergen Regnskap AS", "Tromsø Fisk AS", "Oslo Data AS",
             "Vestland Transport AS", "Hagen & Dahl Advokater", "Solberg Eiendom AS", "Moen Maskin AS",
             "Strand Hotell AS", "Kystlinjen Shipping AS", "Haugen Consulting", "Bakken Bakeri AS",
             "Trondheim Tannklinikk", "Lofoten Reiseliv AS", "Stavanger Energi AS", "Nilsen Elektro AS",
             "Polar Software AS", "Aurora Media AS", "Fossen Kraft AS", "Brown & Taylor Ltd", "Wilson Design Ltd",
             "Northwind Analytics Ltd", "Harbour Logistics Ltd", "Bluefjord Outdoor AS", "Midgard Medisin AS",
             "Skog og Hage AS", "Byråd Arkitekter AS", "Grønn Vei AS", "Fjellstue Drift AS"]  # fmt: skip

TOPICS = [
    ("Faktura for oktober stemmer ikke", [
        "Hei! Fakturaen vi fikk for oktober har to linjer for samme lisens. Kan dere se på det?",
        "Takk for beskjed. Jeg ser dobbeltlinjen og har sendt en kreditnota til regnskap@.",
        "Supert, da venter vi på kreditnotaen. Må vi betale resten nå?",
        "Ja, resten kan betales som vanlig innen forfall. Kreditnotaen kommer i løpet av dagen.",
    ]),
    ("Can't log in after password reset", [
        "Hi, I reset my password this morning and now the login page just reloads. Using Chrome on Windows.",
        "Sorry about that! Could you try a private window and tell me if it works there?",
        "Private window works. So it's something with my browser?",
        "Yes, an old cookie. Clearing cookies for our site will fix it for good.",
        "That did it, thanks a lot!",
    ]),
    ("Levering har ikke kommet", [
        "Bestillingen min (ordre 48213) skulle kommet tirsdag, men jeg har ikke fått noe.",
        "Jeg har sjekket sporingen: pakken står på terminalen i Alnabru. Jeg har purret hos transportøren.",
        "Takk. Kan dere sende den med ekspress hvis den ikke kommer i morgen?",
    ]),
    ("Question about the Pro plan", [
        "Hello, does the Pro plan include the API, and is there a limit on requests?",
        "Yes, the API is included. The limit is 6000 requests a minute per account.",
    ]),
    ("Retur av vare", [
        "Jeg vil returnere jakken jeg kjøpte (str. M). Hvordan gjør jeg det?",
        "Du kan bruke returlappen i pakken, eller så sender jeg en ny på e-post. Hva passer best?",
        "Send gjerne en ny, jeg har kastet den.",
        "Sendt nå! Pengene refunderes innen 5 virkedager etter at vi har mottatt varen.",
    ]),
    ("Integration with our CRM", [
        "We want to sync contacts from our CRM every night. Do you have webhooks?",
        "We do: outgoing webhooks for every event, and a REST API with tokens. I'll send the docs.",
        "Great. Who can help us set it up next week?",
    ]),
    ("Endre abonnement", [
        "Vi ønsker å gå fra 5 til 12 brukere fra neste måned. Hva blir prisen?",
        "Jeg har sendt et tilbud på e-post. Gi beskjed om dere vil gå videre.",
    ]),
    ("Bug: export to CSV is empty", [
        "When I export the report to CSV the file only has headers. The screen shows 230 rows.",
        "Thanks for the report — we reproduced it with date filters set. A fix goes out tomorrow.",
        "OK, is there a workaround until then?",
        "Clear the date filter before exporting, then filter in your spreadsheet.",
    ]),
    ("Spørsmål om åpningstider i jula", [
        "Har dere åpent mellom jul og nyttår?",
        "Ja, vi har åpent 27.–30. desember fra 10 til 15.",
    ]),
    ("Refund for double charge", [
        "My card was charged twice for order 99120. Please refund one of them.",
        "I can see both charges; one is refunded now and should show in 3–5 days.",
    ]),
    ("Tilbud på 40 arbeidsplasser", [
        "Hei, vi flytter til nye lokaler og trenger tilbud på 40 arbeidsplasser med oppsett.",
        "Så hyggelig! Kan vi ta et møte på befaring neste uke?",
        "Onsdag klokka 10 passer fint.",
    ]),
    ("Mobile app crashes on start", [
        "Since the last update the app crashes right after the splash screen (iPhone 13, iOS 18).",
        "Thanks — a fix is in review with Apple. Reinstalling the previous version from TestFlight helps meanwhile.",
    ]),
]  # fmt: skip

CHAT_LINES = [
    ["Hei, er det noen der?", "Hei! Ja, hva kan jeg hjelpe med?", "Jeg lurer på om dere har varen på lager i Bergen.",
     "Ja, butikken i Bergen har 4 igjen."],
    ["Hi, my discount code WINTER24 doesn't work", "Let me check — that code expired on Sunday. I can give you a new one: WINTER25.",
     "Thanks!"],
    ["Kan jeg endre leveringsadressen på en bestilling?", "Ja, hvis den ikke er sendt ennå. Hva er ordrenummeret?",
     "Ordre 51007."],
]  # fmt: skip
SPAM = [
    ("marketing", "Boost your sales 300% with our AI leads"),
    ("noreply", "Your weekly analytics digest"),
    ("newsletter", "Nyhetsbrev: Årets beste tilbud"),
    ("sales", "Partnership opportunity"),
    ("info", "Invitation: webinar on growth hacking"),
]
BOTS = ["Velkomstbot", "Support triage"]


def _password() -> str:
    return os.environ.get("SAMTALE_DEMO_PASSWORD", "samtale-demo")


def load_demo(*, if_empty: bool = False, conversations: int = 300, seed: int = 7) -> int:
    if if_empty and Account.objects.exists():
        print("Database already has data; demo not loaded.")
        return 0
    if User.objects.filter(email=ADMIN_EMAIL).exists():
        print("The demo account exists already.")
        return 0
    rng = random.Random(seed)
    with transaction.atomic():
        build(rng, conversations)
    print(f"Demo account loaded: sign in as {ADMIN_EMAIL} with password {_password()!r}")
    return 0


def build(rng: random.Random, total: int) -> Account:
    start = clock.now() - timedelta(days=45)
    with clock.at(start):
        account, admin = account_actions.create_account(
            name="Nordlys AS", admin_email=ADMIN_EMAIL, admin_name=PEOPLE[0][0], password=_password()
        )
        users = [admin]
        for name, local, role, perms, seat in PEOPLE[1:]:
            users.append(
                account_actions.create_user(
                    account,
                    acting_user=admin,
                    email=f"{local}@{DEMO_DOMAIN}",
                    name=name,
                    password=_password(),
                    role=role,
                    permissions=perms,
                    seat=seat,
                )
            )
        account_actions.update_membership(admin, acting_user=admin, seat=Seat.SERVICE)
        _availability(users, start)
        account_actions.create_team(account, acting_user=admin, name="Kundeservice", members=users[:3] + users[4:5])
        account_actions.create_team(account, acting_user=admin, name="Salg", members=[users[0], users[3]])
        support = actions.create_inbox(account, acting_user=admin, name="Kundeservice", members=users)
        sales = actions.create_inbox(account, acting_user=admin, name="Salg", members=[users[0], users[3], users[1]])
        channels: dict[int, dict[str, Channel]] = {}
        for inbox, slug in ((support, "support"), (sales, "salg")):
            channels[inbox.pk] = {
                ChannelKind.EMAIL: actions.create_channel(inbox, acting_user=admin, kind="email", name=f"{slug}@", address=f"{slug}@{DEMO_DOMAIN}"),
                ChannelKind.CHAT: actions.create_channel(inbox, acting_user=admin, kind="chat", name="Nettsidechat"),
                ChannelKind.MESSENGER: actions.create_channel(inbox, acting_user=admin, kind="messenger", name="Facebook: Nordlys", address=f"page-{slug}", history=True),
                ChannelKind.FORM: actions.create_channel(inbox, acting_user=admin, kind="form", name="Supportskjema", history=True),
                ChannelKind.CALL: actions.create_channel(inbox, acting_user=admin, kind="call", name="Sentralbord", address=f"+47 22 00 {10 + inbox.pk:02d} 00", history=True),
            }  # fmt: skip
            # the demo's own domain: confirmed, so mail sent to the demo addresses arrives at once
            verify_address(channels[inbox.pk][ChannelKind.EMAIL], how="demo setup")
        from samtale.crm.actions import create_company

        domains = []
        for name in COMPANIES:  # 30 companies with domains: people who write from them are theirs
            slug = name.lower().replace(" as", "").replace(" ltd", "").replace(" & ", "-").replace(" ", "-")
            slug = slug.replace("ø", "o").replace("å", "a").replace("æ", "ae")
            domain = f"{slug}.{'co.uk' if name.endswith('Ltd') else 'no'}"
            create_company(account, acting_user=admin, name=name, domain=domain)
            domains.append(domain)
        contacts: list[Contact] = []
        taken: set[str] = set()
        while len(contacts) < 200:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            domain = rng.choice(DOMAINS) if rng.random() < 0.4 else rng.choice(domains)
            email = f"{first}.{last}{rng.randint(1, 99)}@{domain}".lower()
            phone = f"+47 9{rng.randint(1000000, 9999999)}"
            if email in taken or phone in taken:  # (an address or number is one person's)
                continue
            taken |= {email, phone}
            contacts.append(
                create_contact(
                    account,
                    acting_user=admin,
                    name=f"{first} {last}",
                    email=email,
                    phone=phone,
                    identities_=[("email", email), ("phone", phone)],
                )
            )
    special = _special_plan(total)
    for index in range(total):
        at = start + timedelta(minutes=index * (45 * 24 * 60 // max(total, 1)) + rng.randint(0, 50))
        inbox = support if rng.random() < 0.72 else sales
        members = [u for u in users if inbox.members.filter(pk=u.pk).exists()]
        _one(rng, inbox, channels[inbox.pk], rng.choice(contacts), members, users, special.get(index, "normal"), at)
    _tickets(rng, account, users)
    _deals(rng, account, users)
    _feedback(rng, account, users, support)
    _subscriptions(rng, account, users, contacts)
    return account


def _subscriptions(rng: random.Random, account: Account, users: list[User], contacts: list[Contact]) -> None:
    """A custom object, "Abonnement" (plan and renewal date), with records for some contacts."""
    from samtale.crm import objects

    kind = objects.define_type(account, acting_user=users[0], singular="Abonnement", plural="Abonnementer",
                               label="Plan", fields=[("Plan", "dropdown", "Basis\nPro\nBedrift"),
                                                     ("Fornyes", "date", ""), ("Antall brukere", "number", "")])  # fmt: skip
    plan, renews, seats = (d.key for d in objects.definitions(kind))
    for contact in contacts[:25]:
        day = (clock.now() + timedelta(days=rng.randint(5, 365))).date().isoformat()
        objects.save_record(kind, acting_user=users[0], contact_ids=[contact.pk],
                            values={plan: rng.choice(["Basis", "Pro", "Bedrift"]), renews: day,
                                    seats: str(rng.choice([1, 5, 10, 25, 50]))})  # fmt: skip


DEAL_NAMES = ["Årsavtale", "Utvidelse til 50 brukere", "Pilotprosjekt", "Oppgradering til Pro", "Rammeavtale"]


def _deals(rng: random.Random, account: Account, users: list[User]) -> None:
    """A few deals in the Sales pipeline, from sales conversations, through the actions."""
    from samtale.deals import actions as deal_actions

    stages = list(default_pipeline(account, PipelineKind.DEAL).stages.all())
    rows = Conversation.objects.filter(account=account, inbox__name="Salg", trashed_at=None, spam_at=None, bot="")
    for n, conversation in enumerate(rows.exclude(contact=None).order_by("-last_activity_at")[:10]):
        with clock.at(conversation.created_at + timedelta(minutes=10)):
            deal_actions.create_deal(
                account, acting_user=conversation.owner or users[3], conversation=conversation,
                name=f"{DEAL_NAMES[n % len(DEAL_NAMES)]} – {conversation.contact.display_name}"[:200],  # type: ignore[union-attr]
                amount=str(rng.choice([15000, 48000, 120000, 250000, 9900])), stage=stages[n % len(stages)].pk,
                close_date=(clock.now() + timedelta(days=rng.randint(10, 120))).date().isoformat(),
            )  # fmt: skip


FEEDBACK_COMMENTS = ["Rask og hyggelig hjelp, takk!", "Fikk svar samme dag.", "Måtte forklare problemet to ganger.",
                     "Quick and friendly, thank you.", "", "", "Løsningen virket med en gang.", "Tok litt lang tid."]  # fmt: skip


def _feedback(rng: random.Random, account: Account, users: list[User], support: Inbox) -> None:
    """Surveys on the support inbox: sent for its latest closed conversations (those a teammate
    answered; the rest are skipped, saying why) and most of them answered, through the actions.
    Mail is not really sent from a demo: the in-memory backend takes it."""
    from django.test.utils import override_settings

    from samtale.feedback import actions as feedback_actions
    from samtale.feedback.models import State, Survey

    feedback_actions.update_settings(support, acting_user=users[0], enabled=True, delay_minutes=0,
                                     second_nb="Hva kunne vi gjort bedre?", second_en="What could we do better?")  # fmt: skip
    rows = Conversation.objects.filter(
        account=account, inbox=support, status="closed", channel_kind__in=["email", "chat"]
    )
    with override_settings(SAMTALE_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        for conversation in rows.exclude(contact=None).order_by("-closed_at")[:40]:
            with clock.at(conversation.closed_at or clock.now()):
                feedback_actions.conversation_closed(conversation)  # the closing's hook, as if closed now
            survey = Survey.objects.filter(conversation=conversation).first()
            if survey is None:
                continue
            with clock.at(survey.due_at):
                if feedback_actions.send_survey(survey.pk) != State.SENT or rng.random() < 0.2:
                    continue
            survey.refresh_from_db()
            with clock.at(survey.due_at + timedelta(minutes=rng.randint(5, 600))):
                feedback_actions.answer(feedback_actions.token_of(survey), score=rng.choice([5, 5, 5, 4, 4, 4, 3, 2, 1]),
                                        comment=rng.choice(FEEDBACK_COMMENTS))  # fmt: skip
    feedback_actions.update_settings(support, acting_user=users[0], enabled=True, delay_minutes=60,
                                     second_nb="Hva kunne vi gjort bedre?", second_en="What could we do better?")  # fmt: skip


TICKET_NAMES = ["Feil MVA på faktura", "Får ikke logget inn", "Retur av ordre", "Endre abonnement", "Pakken kom aldri",
                "Dobbelt trekk på kortet", "Ønsker tilbud på 20 lisenser", "Eksporten mangler kolonner"]  # fmt: skip


def _tickets(rng: random.Random, account: Account, users: list[User]) -> None:
    """Tickets in every stage of the default pipeline, made from conversations through the actions."""
    from samtale.tickets import actions as ticket_actions

    pipeline = default_pipeline(account, PipelineKind.TICKET)
    open_stages = [s for s in pipeline.stages.all() if not s.is_closed]
    closed_stage = next(s for s in pipeline.stages.all() if s.is_closed)
    rows = Conversation.objects.filter(account=account, trashed_at=None, spam_at=None, filtered_at=None, bot="")
    chosen = [*rows.filter(status="open").order_by("-last_activity_at")[:18],
              *rows.filter(status="closed").order_by("-last_activity_at")[:6]]  # fmt: skip
    for n, conversation in enumerate(chosen):
        stage = closed_stage if conversation.status == "closed" else open_stages[n % len(open_stages)]
        actor = conversation.owner or users[0]
        with clock.at(conversation.created_at + timedelta(minutes=5)):
            ticket_actions.create_ticket(
                account, acting_user=actor, conversation=conversation, name=TICKET_NAMES[n % len(TICKET_NAMES)],
                stage=stage.pk, priority=rng.choice(["low", "medium", "medium", "high", "urgent"]),
                category=rng.choice(["question", "problem", "billing", ""]),
            )  # fmt: skip


def _availability(users: list[User], start: object) -> None:
    """Oslo office hours for most, an evening shift past midnight, one New York colleague, a holiday."""
    from datetime import datetime, time

    from samtale.availability import actions as availability

    plans = {
        0: ("Europe/Oslo", [(d, time(8), time(16)) for d in range(5)]),
        1: (
            "Europe/Oslo",
            [(d, time(8), time(11, 30)) for d in range(5)] + [(d, time(12), time(16)) for d in range(5)],
        ),
        2: ("Europe/Oslo", [(d, time(16), time(0, 30)) for d in range(5)]),
        3: ("America/New_York", [(d, time(9), time(17)) for d in range(5)]),
        4: ("Europe/Oslo", [(d, time(8), time(16)) for d in range(4)]),
    }
    for index, (zone, ranges) in plans.items():
        user = users[index]
        availability.set_time_zone(user, acting_user=user, time_zone=zone)
        for weekday, begin, end in ranges:
            availability.add_working_hours(user, acting_user=user, weekday=weekday, start=begin, end=end)
    sofie = users[4]
    assert isinstance(start, datetime)
    holiday = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=7)
    availability.add_out_of_office(
        sofie, acting_user=sofie, starts_at=holiday, ends_at=holiday + timedelta(days=5), title="Ferie"
    )


def _special_plan(total: int) -> dict[int, str]:
    kinds = ["spam"] * 14 + ["trash"] * 10 + ["filtered"] * 6 + ["bot"] * 14 + ["sent"] * 12 + ["hidden"] * 4
    step = max(total // max(len(kinds), 1), 1)
    return {(i * step + 3) % total: kind for i, kind in enumerate(kinds)}


def _one(
    rng: random.Random,
    inbox: Inbox,
    channels: dict[str, Channel],
    contact: Contact,
    members: list[User],
    everyone: list[User],
    special: str,
    at: object,
) -> Conversation | None:
    from datetime import datetime

    assert isinstance(at, datetime)
    agent = rng.choice(members)
    if special == "spam":
        local, subject = rng.choice(SPAM)
        sender = f"{local}@{rng.choice(['growthly.io', 'promo-mail.com', 'news.example.net'])}"
        with clock.at(at):
            message = actions.receive_inbound(
                channels[ChannelKind.EMAIL],
                actions.InboundMessage(sender_address=sender, sender_name=local.title(), subject=subject, spam=True,
                                       text=f"{subject}.\n\nClick here to learn more. Unsubscribe at any time."),
            )  # fmt: skip
        return message.conversation
    if special == "sent":
        with clock.at(at):
            return actions.compose_conversation(
                channels[ChannelKind.EMAIL], acting_user=agent, to=contact.email,
                subject=rng.choice(["Oppfølging etter møtet", "Your quote from Nordlys", "Tilbud som avtalt"]),
                text=f"Hei {contact.name.split()[0]},\n\nTakk for praten. Her er tilbudet vi snakket om.\n\nHilsen {agent.name}",
            )  # fmt: skip
    kind = rng.choices(
        [ChannelKind.EMAIL, ChannelKind.CHAT, ChannelKind.MESSENGER, ChannelKind.FORM, ChannelKind.CALL],
        weights=[50, 22, 10, 10, 8],
    )[0]
    if special == "bot":
        kind = ChannelKind.CHAT
    channel = channels[kind]
    if kind == ChannelKind.CHAT:
        lines = rng.choice(CHAT_LINES)
        subject = lines[0][:60]
    elif kind == ChannelKind.CALL:
        subject = f"Samtale med {contact.name}"
        minutes = rng.randint(1, 14)
        lines = [f"Innkommende anrop fra {contact.phone}, varighet {minutes} min {rng.randint(0, 59)} s."]
    else:
        subject, lines = rng.choice(TOPICS)
        if kind == ChannelKind.FORM:
            lines = [f"Skjema: Supportskjema\nNavn: {contact.name}\nE-post: {contact.email}\n\n{lines[0]}"]
    moment = at
    with clock.at(moment):
        first = actions.receive_inbound(
            channel,
            actions.InboundMessage(sender_address=contact.email, sender_name=contact.name, subject=subject,
                                   text=lines[0], contact=contact, bot=rng.choice(BOTS) if special == "bot" else ""),
        )  # fmt: skip
    conversation = first.conversation
    if special == "bot":
        return conversation
    assigned = rng.random() < 0.7
    if assigned:
        with clock.at(moment + timedelta(minutes=2)):
            actions.assign_conversation(conversation, acting_user=everyone[0], owner=agent)
    for i, line in enumerate(lines[1:], start=1):
        moment = moment + timedelta(minutes=rng.randint(3, 600))
        with clock.at(moment):
            if i % 2 == 1:  # the agent's answer, as history: already sent (nothing is delivered anew)
                actions.receive_inbound(
                    channel,
                    actions.InboundMessage(sender_address=channel.address, sender_name=agent.name, text=line,
                                           conversation=conversation, author=agent, recipients=[contact.email]),
                )  # fmt: skip
            else:
                actions.receive_inbound(
                    channel,
                    actions.InboundMessage(sender_address=contact.email, sender_name=contact.name, text=line,
                                           conversation=conversation, contact=contact),
                )  # fmt: skip
    if rng.random() < 0.2:
        other = rng.choice([u for u in members if u.pk != agent.pk] or members)
        with clock.at(moment + timedelta(minutes=1)):
            actions.add_comment(conversation, acting_user=agent, text=f"@{other.name} kan du ta en titt på denne?")
    with clock.at(moment + timedelta(minutes=5)):
        if special == "trash":
            # Trashed recently, so the 30-day purge leaves the demo's Trash populated.
            with clock.at(max(moment + timedelta(minutes=5), timezone.now() - timedelta(days=3))):
                actions.trash_conversation(conversation, acting_user=agent)
        elif special == "filtered":
            actions.block_sender(conversation, acting_user=everyone[0])
        elif special == "hidden":
            first.refresh_from_db()
            actions.hide_message(first, acting_user=everyone[0])
        elif (len(lines) % 2 == 0 and rng.random() < 0.6) or rng.random() < 0.15:
            actions.close_conversation(conversation, acting_user=agent)
    return conversation
