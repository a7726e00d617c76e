"""Reads of the inbox. One query builder serves the views, the filters and search."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samtale.accounts.access import membership_of
from samtale.accounts.models import User
from samtale.core.bounds import EARLIEST, parse_id
from samtale.inbox import search
from samtale.inbox.models import (
    ChannelKind,
    Comment,
    Conversation,
    CustomView,
    Inbox,
    Message,
    Notification,
    ReadMark,
    Status,
)

LIVE = Q(spam_at=None, filtered_at=None, trashed_at=None)
OPEN = Q(status=Status.OPEN)
ANSWERED = Q(awaiting_first_reply=False)


def _kind(kind: str) -> Q:
    return LIVE & OPEN & ANSWERED & Q(channel_kind=kind)


@dataclass(frozen=True)
class ViewDef:
    key: str
    label: Any
    always_shown: bool


VIEWS: list[ViewDef] = [
    ViewDef("unassigned", _("Unassigned"), True),
    ViewDef("mine", _("Assigned to me"), True),
    ViewDef("all_open", _("All open"), True),
    ViewDef("chat", _("Chat"), True),
    ViewDef("bots", _("Bots"), False),
    ViewDef("email", _("Email"), False),
    ViewDef("messenger", _("Messenger"), False),
    ViewDef("forms", _("Forms"), False),
    ViewDef("calls", _("Calls"), False),
    ViewDef("all_closed", _("All closed"), False),
    ViewDef("sent", _("Sent"), False),
    ViewDef("spam", _("Spam"), False),
    ViewDef("filtered", _("Filtered"), False),
    ViewDef("trash", _("Trash"), False),
]
VIEW_KEYS = [v.key for v in VIEWS]
VIEW_LABELS = {v.key: v.label for v in VIEWS}


def in_user_order(keys: list[str], preferences: dict[str, Any]) -> list[str]:
    """`keys` in the order the user gave them (`view_order`); others after, as they came."""
    rank = {key: i for i, key in enumerate(preferences.get("view_order") or [])}
    given = {key: i for i, key in enumerate(keys)}
    return sorted(keys, key=lambda k: (rank.get(k, len(rank)), given[k]))


def hidden_views(preferences: dict[str, Any]) -> set[str]:
    return set(preferences.get("hidden_views") or [])


def view_condition(view: str, user: User | None) -> Q:
    """Which conversations of an inbox a default view holds (SPEC C1)."""
    conditions: dict[str, Q] = {
        "unassigned": LIVE & OPEN & ANSWERED & Q(owner=None, bot=""),
        "mine": LIVE & OPEN & ANSWERED & Q(owner=user),
        "all_open": LIVE & OPEN & ANSWERED,
        "chat": LIVE & OPEN & Q(channel_kind=ChannelKind.CHAT),
        "bots": LIVE & OPEN & Q(owner=None) & ~Q(bot=""),
        "email": _kind(ChannelKind.EMAIL),
        "messenger": _kind(ChannelKind.MESSENGER),
        "forms": _kind(ChannelKind.FORM),
        "calls": _kind(ChannelKind.CALL),
        "all_closed": LIVE & Q(status=Status.CLOSED),
        "sent": LIVE & Q(awaiting_first_reply=True),
        "spam": Q(trashed_at=None) & ~Q(spam_at=None),
        "filtered": Q(trashed_at=None, spam_at=None) & ~Q(filtered_at=None),
        "trash": ~Q(trashed_at=None),
    }
    try:
        return conditions[view]
    except KeyError:
        raise ValueError(f"unknown view {view!r}") from None


def view_counts(inbox: Inbox, user: User) -> dict[str, int]:
    """Every default view's count: one query on the counters the write path keeps."""
    from samtale.inbox import counters

    return counters.read(inbox, user.pk)


def view_counts_exact(inbox: Inbox, user: User) -> dict[str, int]:
    """Every default view's count from the conversations, in one aggregated query."""
    aggregates = {key: Count("id", filter=view_condition(key, user)) for key in VIEW_KEYS}
    return Conversation.objects.filter(inbox=inbox).aggregate(**aggregates)


LATEST_DAY = date(2199, 12, 31)  # filter dates beyond are ignored (no conversation is that late)


@dataclass
class Filters:
    """The filters of C2. Any of them set means "search mode": the whole inbox, filtered."""

    q: str = ""
    status: str = ""
    channel: str = ""
    contact: int | None = None
    assignee: str = ""  # "me", "none", "<user id>", "bot" or "bot:<name>"
    include_inactive: bool = False
    date_from: date | None = None
    date_to: date | None = None
    hide_filtered: bool = True
    hide_trash: bool = True
    sort: str = "newest"

    SEARCH_FIELDS = ("q", "status", "channel", "contact", "assignee", "date_from", "date_to")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in self.SEARCH_FIELDS)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            out[f.name] = value
        return out

    @classmethod
    def from_mapping(cls, data: Any) -> Filters:
        """Parse query parameters or a saved view; bad values are ignored, never trusted."""

        def get(name: str) -> str:
            value = data.get(name, "")
            return "" if value is None else str(value).strip()

        def as_bool(name: str, default: bool) -> bool:
            raw = get(name).lower()
            if raw == "":
                return default
            return raw in {"1", "true", "on", "yes"}

        def as_date(name: str) -> date | None:
            try:
                value = date.fromisoformat(get(name)) if get(name) else None
            except ValueError:
                return None
            return value if value is None or EARLIEST.date() <= value <= LATEST_DAY else None

        contact = get("contact")
        status = get("status")
        channel = get("channel")
        return cls(
            q=get("q")[:200],
            status=status if status in Status.values else "",
            channel=channel if channel in ChannelKind.values else "",
            contact=parse_id(contact),
            assignee=get("assignee")[:120],
            include_inactive=as_bool("include_inactive", False),
            date_from=as_date("date_from"),
            date_to=as_date("date_to"),
            hide_filtered=as_bool("hide_filtered", True),
            hide_trash=as_bool("hide_trash", True),
            sort="oldest" if get("sort") == "oldest" else "newest",
        )


def _assignee_condition(assignee: str, user: User, include_inactive: bool) -> Q | None:
    if assignee == "me":
        return Q(owner=user)
    if assignee == "none":
        return Q(owner=None, bot="")
    if assignee == "bot":
        return Q(owner=None) & ~Q(bot="")
    if assignee.startswith("bot:"):
        return Q(owner=None, bot=assignee[4:])
    owner_id = parse_id(assignee)
    if owner_id is not None:
        condition = Q(owner_id=owner_id)
        if include_inactive:
            condition |= Q(owner=None, removed_owner_id=owner_id)
        return condition
    return None


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min), timezone.get_current_timezone())


def conversation_queryset(
    inbox: Inbox, user: User, view: str, filters: Filters, *, text: bool = True
) -> QuerySet[Conversation]:
    """The conversations a view or a search shows, filtered and sorted (no paging). A custom view
    is a search over the whole inbox: with its filters cleared it shows the whole inbox.
    `text=False` leaves the search words out (the caller matches them)."""
    qs = Conversation.objects.filter(inbox=inbox)
    if filters.active or view.startswith("custom-"):
        # a search started in Trash, Spam or Filtered includes what is there
        if filters.hide_trash and view != "trash":
            qs = qs.filter(trashed_at=None)
        if filters.hide_filtered and view != "spam":
            qs = qs.filter(spam_at=None)
        if filters.hide_filtered and view != "filtered":
            qs = qs.filter(filtered_at=None)
        if filters.q and text:
            qs = search.matching(qs, filters.q)
        if filters.status:
            qs = qs.filter(status=filters.status)
        if filters.channel:
            qs = qs.filter(channel_kind=filters.channel)
        if filters.contact:
            qs = qs.filter(contact_id=filters.contact)
        if filters.assignee:
            condition = _assignee_condition(filters.assignee, user, filters.include_inactive)
            if condition is not None:
                qs = qs.filter(condition)
        if filters.date_from:
            qs = qs.filter(last_activity_at__gte=_day_start(filters.date_from))
        if filters.date_to:
            qs = qs.filter(last_activity_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    else:
        qs = qs.filter(view_condition(view, user))
    if filters.sort == "oldest":
        return qs.order_by("last_activity_at", "id")
    return qs.order_by("-last_activity_at", "-id")


LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _pack(at: datetime, *rest: int) -> str:
    """A position as an opaque cursor: a moment and numbers (ids, ranks)."""
    raw = "|".join([at.isoformat(), *map(str, rest)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _unpack(cursor: str, numbers: int) -> tuple[datetime, list[int]] | None:
    """The moment and the `numbers` ids of a cursor `_pack` made, or None for anything else
    (too long, not base64, a naive or out-of-range moment, a missing or malformed number)."""
    if len(cursor) > 200:
        return None
    try:
        stamp, *rest = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        at = datetime.fromisoformat(stamp)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    parsed = [parse_id(part) for part in rest]
    if len(parsed) != numbers or None in parsed or at.tzinfo is None or not EARLIEST <= at <= LATEST:
        return None
    return at, [n for n in parsed if n is not None]


def encode_cursor(conversation: Conversation) -> str:
    return _pack(conversation.last_activity_at, conversation.pk)


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The position a cursor names, or None for anything that is not one of ours."""
    position = _unpack(cursor, 1)
    return (position[0], position[1][0]) if position else None


COUNT_CAP = 1000


@dataclass
class Page:
    items: list[Conversation]
    next_cursor: str | None
    count: int | None = None
    count_capped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def list_page(
    qs: QuerySet[Conversation], *, sort: str = "newest", cursor: str = "", limit: int = 25, count: int | None = None
) -> Page:
    """Keyset pagination on (last_activity_at, id): a deep page costs what the first does.

    `count` is passed for a default view (its kept count); otherwise the matches are counted
    up to COUNT_CAP, and beyond that the page says "1,000+" rather than scanning everything.
    """
    limit = max(1, min(limit, 100))
    capped = False
    if count is None:
        count = qs[: COUNT_CAP + 1].count()
        capped = count > COUNT_CAP
        count = min(count, COUNT_CAP)
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        qs = _after(qs, sort, position)
    return _page_of(list(qs.select_related("contact", "owner")[: limit + 1]), limit, count, capped)


def _page_of(rows: list[Conversation], limit: int, count: int | None, capped: bool) -> Page:
    """A page from up to `limit` + 1 rows in the list's order (one more than shown: is there a next)."""
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor, count=count, count_capped=capped)


def _after(qs: QuerySet[Any], sort: str, position: tuple[datetime, int]) -> QuerySet[Any]:
    """What follows `position` in the list's order."""
    stamp, pk = position
    if sort == "oldest":
        return qs.filter(Q(last_activity_at__gt=stamp) | Q(last_activity_at=stamp, id__gt=pk))
    return qs.filter(Q(last_activity_at__lt=stamp) | Q(last_activity_at=stamp, id__lt=pk))


def conversation_page(
    inbox: Inbox, user: User, view: str, filters: Filters, *, cursor: str = "", limit: int = 25,
    count: int | None = None,
) -> Page:  # fmt: skip
    """A page of a view or a search, as the list and the API show it (`list_page`).

    A search first takes up to COUNT_CAP + 1 matches in the index's order (bounded work however
    many match). Fewer than that: they are all the results, counted exactly, and the page is read
    by key. More ("1,000+"): the words are common, so the list is walked in the order it is shown
    and each chunk tested against the index; the first page needs few chunks. Collecting every
    match first would cost in proportion to how many conversations hold a word like "hei".
    """
    text = search.text_search(filters.q) if filters.q else None
    if text is None:
        return list_page(
            conversation_queryset(inbox, user, view, filters),
            sort=filters.sort,
            cursor=cursor,
            limit=limit,
            count=count,
        )
    qs = conversation_queryset(inbox, user, view, filters, text=False)
    first = text.first_matches(qs, COUNT_CAP + 1)
    if len(first) <= COUNT_CAP:
        return list_page(qs.filter(pk__in=first), sort=filters.sort, cursor=cursor, limit=limit, count=len(first))
    limit = max(1, min(limit, 100))
    position = decode_cursor(cursor) if cursor else None
    ids = _walked(qs if position is None else _after(qs, filters.sort, position), filters.sort, text, limit + 1)
    by_id = Conversation.objects.select_related("contact", "owner").in_bulk(ids)
    return _page_of([by_id[pk] for pk in ids if pk in by_id], limit, COUNT_CAP, True)


WALK_FIRST, WALK_MOST = 500, 50_000  # conversations tested in the first step, and in any step at most


def _walked(qs: QuerySet[Conversation], sort: str, text: search.TextSearch, wanted: int) -> list[int]:
    """The ids of the first `wanted` conversations of `qs`, in its order, that `text` matches.
    Each step is sized by the share that matched so far (one more step is the usual case)."""
    found: list[int] = []
    keys = qs.values_list("last_activity_at", "id")
    position: tuple[datetime, int] | None = None
    step, tested = WALK_FIRST, 0
    while True:
        chunk = list((keys if position is None else _after(keys, sort, position))[:step])
        if chunk:
            matched = text.matches([pk for _stamp, pk in chunk])
            found += [pk for _stamp, pk in chunk if pk in matched]
        if len(found) >= wanted or len(chunk) < step:
            return found[:wanted]
        tested += len(chunk)
        position = chunk[-1]
        share = len(found) / tested
        needed = (wanted - len(found)) / share * 1.25 if share else step * 4
        step = int(min(WALK_MOST, max(step * 2, needed)))


def known_count(
    inbox: Inbox, user: User, view: str, filters: Filters, counts: dict[str, int] | None = None
) -> int | None:
    """The exact count of a default view without filters, from the kept counters (`counts`: as
    `view_counts` gave them, when the caller has read them already)."""
    if filters.active or view not in VIEW_KEYS:
        return None
    return (counts if counts is not None else view_counts(inbox, user))[view]


THREAD_PAGE = 30  # entries on a thread's first paint: the newest; earlier ones load on request
THREAD_MAX = 500  # entries in one answer at most (a permalink deep in a long thread, a live refresh)
EARLIER_COUNTED = 1000  # screens count the entries before a page up to this ("Show earlier (1000+)"):
# an exact count reads the whole thread's index, the one part of opening a thread that grew with it
_RANK = {"comment": 1, "message": 2}  # entries at the same instant: comments before messages


@dataclass
class Thread:
    conversation: Conversation
    messages: list[Message]
    comments: list[Comment]
    earlier: int = 0  # entries before the first shown
    before: str | None = None  # cursor for them (None: the thread starts here)
    later: bool = False  # entries after the last shown (only when opened at an old message)
    earlier_capped: bool = False  # `earlier` is a floor: counting stopped there (`counted_up_to`)
    first_unread: tuple[str, int] | None = None  # (kind, id) of the first entry new to the reader

    @property
    def first_cursor(self) -> str:
        """The position of the oldest entry shown (a redraw keeps the entries from there on)."""
        entries = self.entries
        return encode_entry_cursor(*entries[0]) if entries else ""

    @property
    def entries(self) -> list[tuple[str, Any]]:
        """Messages and comments interleaved by time."""
        items: list[tuple[str, Any]] = [("message", m) for m in self.messages]
        items += [("comment", c) for c in self.comments]
        return sorted(items, key=lambda t: _key(*t))


def _key(kind: str, entry: Message | Comment) -> tuple[datetime, int, int]:
    return (entry.created_at, _RANK[kind], entry.pk)


def encode_entry_cursor(kind: str, entry: Message | Comment) -> str:
    return _pack(entry.created_at, _RANK[kind], entry.pk)


def decode_entry_cursor(cursor: str) -> tuple[datetime, int, int] | None:
    """The position a thread cursor names, or None for anything that is not one of ours."""
    position = _unpack(cursor, 2)
    if position is None or position[1][0] not in _RANK.values():
        return None
    at, (rank, pk) = position
    return at, rank, pk


def _older(kind: str, position: tuple[datetime, int, int]) -> Q:
    """Entries of `kind` strictly before `position` in thread order."""
    at, rank, pk = position
    same = Q(created_at=at)
    if _RANK[kind] < rank:
        return Q(created_at__lt=at) | same
    if _RANK[kind] > rank:
        return Q(created_at__lt=at)
    return Q(created_at__lt=at) | (same & Q(pk__lt=pk))


def _messages(conversation: Conversation) -> QuerySet[Message]:
    return (
        Message.objects.filter(conversation=conversation)
        .select_related("author", "hidden_by")
        .prefetch_related("attachments")
    )


def _comments(conversation: Conversation) -> QuerySet[Comment]:
    return (
        Comment.objects.filter(conversation=conversation)
        .select_related("author")
        .prefetch_related(Prefetch("mentions", queryset=User.objects.only("id", "name", "email")))
    )


def thread(
    conversation: Conversation,
    *,
    limit: int | None = THREAD_PAGE,
    before: str | None = None,
    since: str | None = None,
    from_message: int | None = None,
    counted_up_to: int | None = None,
    read_to: datetime | None = None,
    reader_id: int | None = None,
) -> Thread:
    """A thread's newest `limit` entries (messages and comments), or those before the `before`
    cursor, in a fixed number of queries whatever the thread's length: the page is read newest
    first through the (conversation, created_at, id) indexes and the rest only counted.
    `since`: no entry older than that cursor's (a redraw keeps what the agent had opened, and
    whatever arrived since). `from_message`: the page starts at that message and goes forward
    (a permalink into an old part). `limit=None`: the whole thread (transcripts, not screens).
    `counted_up_to`: count the entries before the page only up to this many (screens).
    `read_to` (with `reader_id`): how far the reader had read; the thread then opens at the first
    entry after it that someone else wrote (`first_unread`), a page starting there when it is
    older than the newest page."""
    if limit is None:
        return Thread(conversation, list(_messages(conversation)), list(_comments(conversation)))
    limit = max(1, min(limit, THREAD_MAX))
    messages, comments = _messages(conversation), _comments(conversation)
    if from_message is not None:
        anchor = Message.objects.filter(conversation=conversation, pk=from_message).only("created_at").first()
        if anchor is not None:
            return _thread_from(conversation, ("message", anchor), limit, counted_up_to)
    position = decode_entry_cursor(before) if before else None
    if position is not None:
        messages = messages.filter(_older("message", position))
        comments = comments.filter(_older("comment", position))
    lower = decode_entry_cursor(since) if since else None
    if lower is not None:
        messages = messages.exclude(_older("message", lower))
        comments = comments.exclude(_older("comment", lower))
    newest_messages = list(messages.order_by("-created_at", "-id")[: limit + 1])
    newest_comments = list(comments.order_by("-created_at", "-id")[: limit + 1])
    merged: list[tuple[str, Any]] = sorted(
        [("message", m) for m in newest_messages] + [("comment", c) for c in newest_comments],
        key=lambda t: _key(*t),
        reverse=True,
    )
    shown = merged[limit - 1 :: -1]  # back in time order
    if read_to is not None and position is None and lower is None:
        unread = [(k, e) for k, e in shown if e.created_at > read_to and e.author_id != reader_id]
        first = unread[0] if unread else None
        # everything above it on the page the reader's own: the news may start further back
        if (
            first is not None
            and len(merged) > limit
            and all(e.author_id == reader_id for _k, e in shown[: shown.index(first)])
        ):
            first = _first_unread(conversation, read_to, reader_id) or first
            if _key(*first) < _key(*shown[0]):
                page = _thread_from(conversation, first, limit, counted_up_to)
                page.first_unread = (first[0], first[1].pk)
                return page
        if first is not None:
            shown_page = _page(conversation, shown)
            shown_page.first_unread = (first[0], first[1].pk)
            return _with_earlier(shown_page, conversation, merged, limit, lower, counted_up_to)
    return _with_earlier(_page(conversation, shown), conversation, merged, limit, lower, counted_up_to)


def _with_earlier(
    page: Thread,
    conversation: Conversation,
    merged: list[tuple[str, Any]],
    limit: int,
    lower: tuple[datetime, int, int] | None,
    counted_up_to: int | None,
) -> Thread:
    oldest = merged[:limit][-1] if merged else None
    if oldest is not None and (len(merged) > limit or lower is not None):
        page.earlier, page.earlier_capped = _count_before(conversation, _key(*oldest), counted_up_to)
        page.before = encode_entry_cursor(*oldest) if page.earlier else None
    return page


def _first_unread(conversation: Conversation, read_to: datetime, reader_id: int | None) -> tuple[str, Any] | None:
    """The oldest entry after `read_to` that someone other than the reader wrote (two indexed reads)."""
    found: list[tuple[str, Any]] = []
    for kind, qs in (("message", _messages(conversation)), ("comment", _comments(conversation))):
        qs = qs.filter(created_at__gt=read_to)
        entry = (qs.exclude(author_id=reader_id) if reader_id is not None else qs).order_by("created_at", "id").first()
        if entry is not None:
            found.append((kind, entry))
    return min(found, key=lambda t: _key(*t)) if found else None


def read_mark(user: User, conversation: Conversation) -> datetime | None:
    """How far the user had read the conversation (None: never opened it since marks were kept)."""
    if "viewer_read_to" in conversation.__dict__:  # read with it (`access_conversation(with_read_mark=True)`)
        loaded: datetime | None = conversation.__dict__["viewer_read_to"]
        return loaded
    return ReadMark.objects.filter(user=user, conversation=conversation).values_list("read_to", flat=True).first()


def _page(conversation: Conversation, entries: list[tuple[str, Any]]) -> Thread:
    return Thread(
        conversation,
        messages=[e for k, e in entries if k == "message"],
        comments=[e for k, e in entries if k == "comment"],
    )


def _count_before(
    conversation: Conversation, position: tuple[datetime, int, int], up_to: int | None = None
) -> tuple[int, bool]:
    """Entries before `position`, and whether counting stopped at `up_to` (the count is then a floor)."""
    messages = Message.objects.filter(conversation=conversation).filter(_older("message", position))
    comments = Comment.objects.filter(conversation=conversation).filter(_older("comment", position))
    if up_to is None:
        return messages.count() + comments.count(), False
    found = messages[:up_to].count()
    if found < up_to:
        found += comments[: up_to - found].count()
    return found, found >= up_to


def _thread_from(
    conversation: Conversation, anchor: tuple[str, Message], limit: int, counted_up_to: int | None = None
) -> Thread:
    """`limit` entries starting at `anchor`, going forward, with what is before and after it."""
    kind, entry = anchor
    position = _key(kind, entry)
    after_messages = _messages(conversation).exclude(_older("message", position))
    after_comments = _comments(conversation).exclude(_older("comment", position))
    merged: list[tuple[str, Any]] = sorted(
        [("message", m) for m in after_messages.order_by("created_at", "id")[: limit + 1]]
        + [("comment", c) for c in after_comments.order_by("created_at", "id")[: limit + 1]],
        key=lambda t: _key(*t),
    )
    page = _page(conversation, merged[:limit])
    page.later = len(merged) > limit
    page.earlier, page.earlier_capped = _count_before(conversation, position, counted_up_to)
    if page.earlier:
        page.before = encode_entry_cursor(kind, entry)
    return page


def custom_views(inbox: Inbox, user: User) -> QuerySet[CustomView]:
    return CustomView.objects.filter(Q(owner=user) | Q(shared=True), inbox=inbox)


def _visible_notifications(user: User) -> QuerySet[Notification]:
    """The user's notifications about conversations they can still open (removed from an inbox:
    its notifications go with it)."""
    qs = Notification.objects.filter(user=user)
    try:
        super_admin = membership_of(user).is_super_admin
    except PermissionDenied:
        super_admin = False
    if not super_admin:
        qs = qs.filter(conversation__inbox__members=user)
    return qs


def unread_notifications(user: User) -> int:
    return _visible_notifications(user).filter(read_at=None).count()


def notifications(user: User, limit: int = 30) -> list[Notification]:
    return list(_visible_notifications(user).select_related("actor", "conversation", "comment")[:limit])


def inbox_members(inbox: Inbox) -> QuerySet[User]:
    """Users who can be assigned or mentioned in this inbox: members, plus super admins."""
    return (
        User.objects.filter(membership__account_id=inbox.account_id, membership__removed_at=None)
        .filter(Q(inboxes=inbox) | Q(membership__role="super_admin"))
        .select_related("membership")
        .distinct()
        .order_by("name")
    )


def assignee_choices(inbox: Inbox, include_inactive: bool) -> QuerySet[User]:
    qs = User.objects.filter(membership__account_id=inbox.account_id).select_related("membership").order_by("name")
    if not include_inactive:
        qs = qs.filter(membership__removed_at=None, membership__deactivated_at=None)
    return qs


BOT_NAMES_SQL = """
WITH RECURSIVE names(name, n) AS (
    SELECT (SELECT MIN(bot) FROM {table} WHERE inbox_id = %s AND bot > ''), 1
    UNION ALL
    SELECT (SELECT MIN(bot) FROM {table} WHERE inbox_id = %s AND bot > names.name), n + 1
    FROM names WHERE names.name IS NOT NULL AND n < %s
)
SELECT name FROM names WHERE name IS NOT NULL
"""


def bot_names(inbox: Inbox, limit: int = 50) -> list[str]:
    """The names of the bots that hold or held conversations here, sorted, at most `limit`. Read
    as a skip scan over the (inbox, bot) index: one seek per name, never a pass over the inbox's
    conversations (a plain DISTINCT reads every one: 1M rows in a big inbox)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(BOT_NAMES_SQL.format(table=Conversation._meta.db_table), [inbox.pk, inbox.pk, limit])
        return [row[0] for row in cursor.fetchall()]


def messages_with_external_id(account_id: int, external_id: str) -> QuerySet[Message]:
    """Messages by Message-ID (or a channel's id) through the partial index `msg_external_id`.

    The predicate is repeated so SQLite may use the partial index, and there is no ordering: an
    `ORDER BY id LIMIT 1` made both databases walk the primary key over every message instead."""
    return (
        Message.objects.filter(account_id=account_id, external_id=external_id[:998]).exclude(external_id="").order_by()
    )


def reply_kinds(conversation: Conversation) -> list[str]:
    """The kinds a reply to this conversation can be sent as ("Send as"): its own channel's kind and
    any other that reaches the contact, each only when a channel of the inbox can deliver it."""
    return [kind for kind, _to in reply_options(conversation)]


def reply_options(conversation: Conversation) -> list[tuple[str, list[str]]]:
    """`reply_kinds`, each with who a reply sent as it goes to, as the agent is shown it
    (addresses; a chat's visitor is not an address and is not listed)."""
    from samtale.inbox import adapters

    options = []
    for kind in dict.fromkeys([conversation.channel_kind, *adapters.sending_kinds()]):
        adapter = adapters.adapter_for(kind)
        recipients = adapter.recipients(conversation) if adapter is not None else []
        if adapter is None or not recipients:
            continue
        own = conversation.channel
        if (own.kind == kind and not adapter.cannot_send(own)) or any(
            not adapter.cannot_send(c) for c in conversation.inbox.channels.filter(kind=kind).order_by("id")
        ):  # the usual case: no query
            options.append((kind, [r for r in recipients if "@" in r and not r.startswith("visitor:")]))
    return options


def sender_is_blocked(conversation: Conversation) -> bool:
    """Whether the conversation's sender is blocked on its kind: by the contact's key (what
    blocking stores: their email, phone or id) or by an address they wrote from. One query."""
    from samtale.inbox.models import BlockedSender, Direction, Message

    keys: list[str] = []
    contact = conversation.contact
    if contact is not None:
        keys = [k.lower() for k in (contact.email, contact.phone, str(contact.pk)) if k]
    written_from = (
        Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
        .exclude(sender_address="")
        .values("sender_address")
    )
    return BlockedSender.objects.filter(
        Q(value__in=keys) | Q(value__in=written_from),
        account_id=conversation.account_id,
        kind=conversation.channel_kind,
    ).exists()
