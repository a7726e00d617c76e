"""Finding contacts by what a person types: each word is a prefix of one of a contact's words
(name, addresses, numbers, company), so "kari nord" finds Kari Nordmann, "2233" a number and
"kari.nordmann@" an address; a word that finds nothing is tried once more allowing one typo
("nordman", "nrodmann"). Words are folded (lower case, æ→ae, ø→o, å→a, accents dropped) when
stored and when searched. All of it is linear in the text and capped: a query has at most
`MAX_TERMS` words of at most `MAX_TOKEN` characters, and a typo search reads at most three
sets of `FUZZY_SCAN` stored words (the first `FUZZY_CANDIDATES` distinct ones of each); numbers
are never typo-matched."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.db import connection
from django.db.models import Q, QuerySet

from samtale.crm.models import Contact, ContactSearchToken

MAX_TOKEN = 64
MAX_TERMS = 6
FUZZY_CANDIDATES = 1000
FUZZY_SCAN = 20_000  # stored words read per candidate set (common words repeat: the distinct ones are fewer)
_WORD = re.compile(r"\w+")
_PHONE_LIKE = re.compile(r"[+()\d][\d\s().\-/]*\Z")
_SPECIAL = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ß": "ss", "đ": "d", "ł": "l", "þ": "th"})


def fold(text: str) -> str:
    text = text.lower().translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def contact_tokens(contact: Contact, *, emails: Iterable[str] = (), phones: Iterable[str] = ()) -> set[str]:
    """The words a contact is found by: its name's words, each address whole and in words, each
    number's digits (with and without the country code), its company's words."""
    from django.conf import settings

    tokens: set[str] = set()
    texts = [contact.name, contact.first_name, contact.last_name]
    if contact.company_id is not None and contact.company is not None:
        texts.append(contact.company.name)
    for text in texts:
        tokens.update(_WORD.findall(fold(text[:400])))
    for email in {contact.email, *emails}:
        if email:
            folded = fold(email[:254])
            tokens.add(folded)
            tokens.add(folded.rpartition("@")[2])  # its domain: "fjord.no" finds everyone there
            tokens.update(_WORD.findall(folded))
    country = "+" + settings.SAMTALE_DEFAULT_PHONE_COUNTRY
    for phone in {contact.phone, *phones}:
        digits = "".join(ch for ch in phone[:40] if ch.isdigit())
        if digits:
            tokens.add(digits)
            if phone.startswith(country):
                tokens.add(digits[len(country) - 1 :])
    return {token[:MAX_TOKEN] for token in tokens if token}


def terms_of(query: str) -> list[str]:
    """The words of a query as they are matched: a number typed with spaces is one term."""
    query = query.strip()[:200]
    if _PHONE_LIKE.match(query) and sum(ch.isdigit() for ch in query) >= 3:
        digits = "".join(ch for ch in query if ch.isdigit())
        return [digits.lstrip("0") if query.startswith("00") else digits]
    terms: list[str] = []
    for part in fold(query).split():
        if _WORD.fullmatch(part) or "@" in part or "." in part:
            terms.append(part[:MAX_TOKEN])  # a word, or an address (matched whole)
        else:
            terms.extend(word[:MAX_TOKEN] for word in _WORD.findall(part))
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def _prefix(term: str) -> Q:
    if connection.vendor == "postgresql":  # LIKE 'x%' on a varchar_pattern_ops index
        return Q(token__startswith=term)
    return Q(token__gte=term, token__lt=term + "\U0010ffff")  # SQLite compares bytes


def _within_one_edit(a: str, b: str) -> bool:
    """Levenshtein (with a swap of neighbours) distance ≤ 1, in linear time."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def _near(account_id: int, term: str) -> list[str]:
    """Stored words that `term` is one typo away from being a prefix of (terms of 4 or more).
    Candidates share the term's first three letters (a typo later on), its first two, or its
    first and third (a typo in the second letter); each set is capped."""
    if len(term) < 4 or term.isdigit():  # a number one typo away is another person's number
        return []
    near: set[str] = set()
    for start in dict.fromkeys((term[:3], term[:2], term[0] + term[2])):
        # the index walked in order and cut off: no DISTINCT, which on PostgreSQL reads every
        # stored word of a common prefix first (a million of them at scale: minutes)
        rows = list(
            dict.fromkeys(
                ContactSearchToken.objects.filter(_prefix(start), account_id=account_id)
                .order_by("token")
                .values_list("token", flat=True)[:FUZZY_SCAN]
            )
        )[:FUZZY_CANDIDATES]
        for token in rows:
            for size in (len(term) - 1, len(term), len(term) + 1):
                if size <= len(token) and _within_one_edit(term, token[:size]):
                    near.add(token)
                    break
    return sorted(near)


def _matching(account_id: int, term: str) -> Q:
    hits = ContactSearchToken.objects.filter(_prefix(term), account_id=account_id)
    if hits.exists():
        return Q(pk__in=hits.values("contact_id"))
    near = _near(account_id, term)
    if not near:
        return Q(pk__in=[])
    return Q(pk__in=ContactSearchToken.objects.filter(account_id=account_id, token__in=near).values("contact_id"))


def search(contacts: QuerySet[Contact], account_id: int, query: str) -> QuerySet[Contact]:
    """`contacts` narrowed to those every word of `query` finds (all of them when it has none)."""
    for term in terms_of(query):
        contacts = contacts.filter(_matching(account_id, term))
    return contacts
