"""Large messages are parsed from a skeleton (large bodies decoded straight into files): for every
message of the corpus the result must be what the stdlib parser gives for the whole message."""

from __future__ import annotations

import io
import os
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from samtale.channels.email import skeleton
from samtale.channels.email.parse import ParsedEmail, parse_stream
from samtale.channels.email.parse import parse_tree as parse
from tests.channels.email import corpus


def content(parsed: ParsedEmail) -> list[tuple[str, str, bytes, str, bool]]:
    out = []
    for part in parsed.attachments:
        data = part.path.read_bytes() if part.path else part.payload
        out.append((part.filename, part.content_type, data, part.content_id, part.inline))
    return out


def same(raw: bytes) -> tuple[ParsedEmail, ParsedEmail]:
    whole = parse(raw)
    streamed = parse_stream(io.BytesIO(raw), len(raw))
    try:
        assert (streamed.text, streamed.html, streamed.subject, streamed.message_id, streamed.from_address) == (
            whole.text, whole.html, whole.subject, whole.message_id, whole.from_address
        )  # fmt: skip
        assert content(streamed) == content(whole)
        assert (streamed.bounce, streamed.auto_reply, streamed.references) == (
            whole.bounce,
            whole.auto_reply,
            whole.references,
        )
    finally:
        streamed.discard()
    return whole, streamed


@pytest.mark.parametrize("name", [name for name, _raw in corpus.corpus()])
def test_every_corpus_message_parses_the_same_from_a_skeleton(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(skeleton, "KEEP_IN_MEMORY", 64)  # every body but the shortest is left out
    raw = dict(corpus.corpus())[name]
    same(raw)


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable", "8bit"])
def test_large_parts_in_each_transfer_encoding_and_nested_messages(
    encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(skeleton, "KEEP_IN_MEMORY", 1000)
    inner = EmailMessage(policy=SMTP)
    inner["Subject"] = "Forwarded"
    inner.set_content("inner text")
    inner.add_attachment(os.urandom(5000), maintype="application", subtype="octet-stream", filename="inner.bin")
    outer = EmailMessage(policy=SMTP)
    outer["From"], outer["To"], outer["Subject"] = "a@example.com", "support@acme.test", "Nested"
    outer["Message-ID"] = "<nested@example.com>"
    outer.set_content("Hello " * 500)
    outer.add_alternative("<p>" + "Hello " * 500 + "</p>", subtype="html")
    blob = os.urandom(20_000) if encoding == "base64" else ("Line æøå =\n" * 3000).encode()
    outer.add_attachment(blob, maintype="application", subtype="x-test", filename="blob.dat", cte=encoding)
    outer.add_attachment(inner)
    raw = outer.as_bytes()
    whole, streamed = same(raw)
    assert any(len(data) >= 5000 for _f, _c, data, _i, _n in content(whole))
    assert not streamed.files  # discarded


def test_parse_stream_leaves_no_files_and_small_messages_take_the_plain_path() -> None:
    raw = corpus.big_attachment()
    parsed = parse_stream(io.BytesIO(raw), len(raw))
    assert parsed.files and all(p.is_file() for p in parsed.files)
    [part] = [p for p in parsed.attachments if p.filename == "drawing.dwg"]
    assert part.path is not None and part.path.stat().st_size == 20 * 1024 * 1024 and part.payload == b""
    parsed.discard()
    assert not any(p.exists() for p in [part.path])
    small = corpus.corpus()[0][1]
    assert not parse_stream(io.BytesIO(small), len(small)).files
