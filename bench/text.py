"""Support-conversation text for the benchmarks' seeds, shaped like the real thing: Norwegian and
English mixed, words drawn from a Zipf-distributed vocabulary (a few words in nearly every
conversation, a long tail of rare ones), a greeting and a sign-off most messages have, the
company's name in most of them, an order number now and then, and lengths spread as real
messages' are (a median of ~70 words, a long tail of long ones).

The benchmarks search it for words picked by how common they are (`search_words`), a different
word per sample: rare ones, common ones, pairs and prefixes.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator

# The head of the vocabulary, most common first: Norwegian and English as they interleave in an
# inbox that serves both (function words, then the words of support conversations).
_HEAD_TEXT = """
i og the to er det jeg på you for and a at en til is har we of it med som ikke kan vi du this
har your please om vil så av be thanks takk hei hi are min meg not med that have can deg bestilling
order faktura invoice konto account levering delivery pakke package passord password betaling payment
hjelp help problem feil error kunde customer svar reply spørsmål question dag day uke week i dag today
refusjon refund retur return tilbud quote pris price abonnement subscription innlogging login
oppdatering update møte meeting adresse address nummer number telefon phone epost email sendt sent
mottatt received ventet waiting fortsatt still igjen again allerede already nettside website app
mvh regards vennlig kind hilsen best beste dear kjære god good morgen morning ettermiddag afternoon
produkt product lager stock frakt shipping sporing tracking kvittering receipt kort card bank
avbestille cancel endre change navn name kontrakt contract avtale agreement support kundeservice
"""
HEAD = _HEAD_TEXT.split()
GREETINGS = ["hei", "hei hei", "hi", "hello", "god morgen", "good morning", "dear support", "hallo"]
SIGNOFFS = ["takk", "mvh", "med vennlig hilsen", "thanks", "best regards", "kind regards", "takk for hjelpen"]
COMPANY = "acme"
_SYLLABLES = [c + v for c in "bdfghjklmnprstvz" for v in "aeiouyæøå"] + ["sk", "st", "nd", "rt", "ng", "kk"]
TAIL = 60_000  # rare words after the head


def _tail(count: int) -> list[str]:
    """`count` distinct made-up words of two to four syllables (the same ones every time)."""
    source = random.Random(7919)
    words: dict[str, None] = {}
    while len(words) < count:
        words["".join(source.choice(_SYLLABLES) for _ in range(source.randint(2, 4)))] = None
    return list(words)


def vocabulary() -> list[str]:
    head = list(dict.fromkeys(HEAD))
    return head + [w for w in _tail(TAIL + len(head)) if w not in head][:TAIL]


class Writer:
    """Documents from a seeded random source: the same seed writes the same text."""

    def __init__(self, seed: int = 11) -> None:
        self.random = random.Random(seed)
        self.words = vocabulary()
        # Zipf-Mandelbrot: the r-th word's weight is 1 / (r + 2.7) ** 1.07
        self.cumulative = list(itertools.accumulate(1 / (r + 2.7) ** 1.07 for r in range(len(self.words))))

    def length(self) -> int:
        return max(4, min(600, int(self.random.lognormvariate(math.log(70), 0.8))))

    def message(self) -> str:
        r = self.random
        body = r.choices(self.words, cum_weights=self.cumulative, k=self.length())
        if r.random() < 0.15:
            body.insert(r.randrange(len(body)), f"{r.choice(['ordre', 'order'])} {r.randrange(100000, 999999)}")
        parts = [r.choice(GREETINGS)] if r.random() < 0.8 else []
        parts += body
        if r.random() < 0.75:
            parts.append(r.choice(SIGNOFFS))
        if r.random() < 0.7:
            parts.append(COMPANY)
        return " ".join(parts)

    def documents(self) -> Iterator[str]:
        while True:
            yield self.message()


def search_words(kind: str) -> list[str]:
    """What agents type, by kind: a different one per sample (cycled by the benchmarks)."""
    words = vocabulary()
    head = list(dict.fromkeys(HEAD))
    if kind == "common":
        return ["hei", "takk", COMPANY, "faktura", "order", "levering", "password", "bestilling"]
    if kind == "rare":  # deep in the tail: tens to hundreds of conversations in a million
        return [words[len(head) + n] for n in (20_011, 25_013, 31_019, 37_021, 41_023, 44_029, 47_033, 52_037)]
    if kind == "pair":
        return ["hei takk", "faktura betaling", "order delivery", "passord innlogging", "refund invoice",
                "pakke sporing", "konto endre", "acme refusjon"]  # fmt: skip
    if kind == "prefix":
        return ["fakt", "bestil", "lever", "passw", "refu", "abonn", "kvitt", "spor"]
    raise ValueError(kind)


if __name__ == "__main__":
    w = Writer()
    for _ in range(3):
        print(w.message(), "\n")
