"""Every function that processes untrusted text must be linear (or bounded) in its input.

Each function gets adversarial inputs of 100 KB and 1 MB (patterns known to make regexes and
tolerant parsers backtrack or rescan: `<img <img …`, `<a<a<a…`, unclosed quotes and tags, long
marker-like lines, nested comments in addresses, …). A linear function takes about 10× longer on
the larger input; a quadratic one 100×. The test fails above 30× (CPU time of the measuring
process, the best of three runs, so other load on the machine does not count), or when the larger
input takes more than 60 s. Measurements run in a forked child that is killed on timeout.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from samtale.channels.email.charsets import decode, header_text, jis
from samtale.channels.email.parse import message_ids, normalize_subject, parse, repair_header_block
from samtale.channels.email.quotes import split_html, split_text
from samtale.core.html import sanitize, text_to_html, to_text
from samtale.inbox.search import normalize

SMALL, LARGE = 100_000, 1_000_000
LIMIT_RATIO = 30.0
FLOOR = 0.05  # seconds: below this at 1 MB, any ratio is noise
TIMEOUT = 60.0


def fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def mail_with_header(name: str, unit: str, size: int) -> bytes:
    return f"From: a@example.com\r\nSubject: x\r\n{name}: {fill(unit, size)}\r\n\r\nbody\r\n".encode()


def report(unit: str, size: int) -> bytes:
    """A delivery report whose text part is full of unterminated Message-ID lines."""
    return (
        b"From: MAILER-DAEMON@example.com\r\nSubject: Undelivered\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n"
        b"--r\r\nContent-Type: text/rfc822-headers\r\n\r\n" + fill(unit, size).encode() + b"\r\n--r--\r\n"
    )


CASES: dict[str, tuple[Callable[[Any], Any], Callable[[int], Any]]] = {
    "sanitize <img <img": (sanitize, lambda n: fill("<img ", n)),
    "sanitize <a<a": (sanitize, lambda n: fill("<a", n)),
    "sanitize unclosed attribute": (sanitize, lambda n: '<img src="' + fill("x ", n)),
    "sanitize nested tags": (sanitize, lambda n: fill("<div><b>", n)),
    "sanitize <img src= <img": (sanitize, lambda n: fill("<img src=<img ", n)),
    "to_text <br<br": (to_text, lambda n: fill("<br", n)),
    "to_text </p</p": (to_text, lambda n: fill("</p", n)),
    "text_to_html blank lines": (text_to_html, lambda n: fill("a\n\n\n", n)),
    "split_html <a<a": (split_html, lambda n: "<p>hi</p>" + fill("<a", n)),
    "split_html <blockquote<blockquote": (split_html, lambda n: "<p>hi</p>" + fill("<blockquote", n)),
    "split_html quote classes outside tags": (split_html, lambda n: "<p>hi</p>" + fill("gmail_quote ", n)),
    "split_html <div class=": (split_html, lambda n: "<p>hi</p>" + fill('<div class="', n)),
    "split_html <hr style": (split_html, lambda n: "<p>hi</p>" + fill("<hr style=", n)),
    "split_text one long line": (split_text, lambda n: "hi\n" + fill("skrev on wrote: ", n)),
    "split_text marker-like lines": (split_text, lambda n: "hi\n" + fill("Den skrev skrev skrev x\n", n)),
    "split_text quote lines": (split_text, lambda n: "hi\n" + fill("> q\n", n)),
    "split_text empty lines": (split_text, lambda n: "hi" + fill("\n", n)),
    "normalize_subject prefixes": (normalize_subject, lambda n: fill("re: ", n)),
    "normalize_subject spaces": (normalize_subject, lambda n: "re" + fill(" ", n) + "x"),
    "message_ids unclosed": (message_ids, lambda n: fill("<a", n)),
    "search tokens": (normalize, lambda n: fill("ola@example.com ", n)),
    "parse nested comments in From": (parse, lambda n: mail_with_header("From", "(", n)),
    "parse address list": (parse, lambda n: mail_with_header("To", "a@b.c, ", n)),
    "parse encoded words": (parse, lambda n: mail_with_header("Subject", "=?utf-8?q?a?= ", n)),
    "parse quoted strings": (parse, lambda n: mail_with_header("From", '"a\\', n)),
    "parse unterminated Message-IDs in a report": (parse, lambda n: report("Message-ID: <x\r\n", n)),
    "parse long References": (parse, lambda n: mail_with_header("References", "<a@b> ", n)),
    "header_text unclosed encoded words": (header_text, lambda n: fill("=?utf-8?q?", n)),
    "header_text undeclared 8-bit": (header_text, lambda n: fill("\udce6\udcf8 ", n)),
    "parse From with encoded-word starts": (parse, lambda n: mail_with_header("From", "=?x?q?a, ", n)),
    "parse From with names and comments": (parse, lambda n: mail_with_header("From", "a (b) <c@d>, ", n)),
    "repair folds without whitespace": (
        repair_header_block,
        lambda n: b"From: a@b.c\r\n" + fill("junk without a colon\r\n", n).encode() + b"\r\nbody",
    ),
    "repair field-name-like runs": (repair_header_block, lambda n: fill("a" * 199 + "-", n).encode() + b"\r\n\r\n"),
    "decode undeclared 8-bit (detected)": (decode, lambda n: fill("blåbær ", n).encode("latin-1")),
    "jis escape runs": (jis, lambda n: fill("\x1b$B!A\x1b(B", n).encode()),
    "parse boundary lines": (
        parse,
        lambda n: b'Subject: x\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + fill("--b\r\n", n).encode(),
    ),
}


def _best_of_three(function: Callable[[Any], Any], value: Any) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        result = function(value)
        best = min(best, time.thread_time() - started)
        if hasattr(result, "discard"):
            result.discard()
    return best


def _measure(name: str, pipe: Any) -> None:
    function, make = CASES[name]
    try:
        pipe.send((_best_of_three(function, make(SMALL)), _best_of_three(function, make(LARGE))))
    except BaseException as exc:  # report, never hang the parent
        pipe.send(exc)
    finally:
        pipe.close()
        os._exit(0)


@pytest.mark.parametrize("name", list(CASES))
def test_text_processing_is_linear_on_adversarial_input(name: str) -> None:
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_measure, args=(name, send))
    child.start()
    send.close()
    if not receive.poll(TIMEOUT):
        child.kill()
        child.join()
        pytest.fail(f"{name}: the 1 MB input took more than {TIMEOUT:.0f} s (superlinear)")
    outcome = receive.recv()
    child.join()
    if isinstance(outcome, BaseException):
        raise outcome
    small, large = outcome
    ratio = large / max(small, 1e-6)
    assert large <= FLOOR or ratio <= LIMIT_RATIO, (
        f"{name}: {small * 1000:.1f} ms at 100 KB, {large * 1000:.1f} ms at 1 MB ({ratio:.0f}×, linear is ~10×)"
    )
