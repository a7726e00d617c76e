"""Charsets as browsers read them, and headers recovered from broken header blocks."""

from __future__ import annotations

from samtale.channels.email.charsets import decode, header_text, jis
from samtale.channels.email.parse import parse, repair_header_block


def test_labels_name_the_superset_senders_really_used() -> None:
    text = "内應力產生与注塑工艺"  # GBK-only characters in mail labelled GB2312
    assert decode(text.encode("gb18030"), "gb2312") == text
    assert decode("①㈱ 髙".encode("cp932"), "shift_jis") == "①㈱ 髙"  # NEC/IBM rows
    assert decode("“quoted” – €5".encode("cp1252"), "iso-8859-1") == "“quoted” – €5"


def test_iso_2022_jp_with_nec_extensions_and_mislabelled_shift_jis() -> None:
    plain = "今なら１都３県の鯵"
    assert jis(plain.encode("iso2022_jp")) == plain
    # ① is NEC row 13: Python's strict codec refuses it, browsers show it
    circled = b"\x1b$B-!\x1b(B"
    assert jis(circled) == "①"
    assert decode(plain.encode("iso2022_jp"), "iso-2022-jp") == plain
    assert decode(plain.encode("iso2022_jp"), None) == plain  # 7-bit JIS without a label
    assert decode(plain.encode("cp932"), "iso-2022-jp") == plain  # 8-bit bytes: Shift_JIS mislabelled


def test_undeclared_text_is_utf_8_or_detected() -> None:
    assert decode("blåbærsyltetøy".encode(), None) == "blåbærsyltetøy"
    russian = "Здравствуйте, мой заказ не пришёл вовремя, пожалуйста, проверьте." * 3
    assert decode(russian.encode("cp1251"), None) == russian


def test_header_words() -> None:
    # adjacent encoded words in two charsets: the space between them is not text (RFC 2047 §6.2)
    assert header_text("=?Windows-1252?Q?Hans_B=C4KO?= =?iso-8859-15?q?Sch=F6nland?=") == "Hans BÄKOSchönland"
    assert header_text("=?GB2312?B?vqvS5sn6svrJwbvpLMrHy621xNTwyM4=?=") == "精益生产闪婚,是谁的责任"
    assert header_text("Re: =?utf-8?Q?sp=C3=B8rsm=C3=A5l?= om faktura") == "Re: spørsmål om faktura"
    undeclared = "Grüße".encode().decode("ascii", "surrogateescape")  # 8-bit header bytes as the parser keeps them
    assert header_text(undeclared) == "Grüße"


def test_a_broken_header_block_keeps_the_headers_after_the_fault() -> None:
    raw = (
        b"---- Original email message ----\r\n"
        b"From: Kari <kari@example.no>\r\n"
        b"X-Tracker: abc\r\n"
        b"def-continued-without-whitespace\r\n"
        b"Subject: Still here\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"Body text\r\n"
    )
    repaired = repair_header_block(raw)
    assert repaired.startswith(b"From: Kari") and b"X-Tracker: abc\r\n def-continued" in repaired
    parsed = parse(raw)
    assert (parsed.subject, parsed.from_address, parsed.text.strip()) == ("Still here", "kari@example.no", "Body text")


def test_names_from_comments_and_reply_to_when_from_has_no_address() -> None:
    bounce = parse(b"From: MAILER-DAEMON@mx.example (Mail Delivery System)\r\nSubject: x\r\n\r\nhi\r\n")
    assert (bounce.from_name, bounce.from_address) == ("Mail Delivery System", "mailer-daemon@mx.example")
    empty = parse(b'From: "=?utf-8?B?S2FyaQ==?=" <>\r\nReply-To: <kari@example.no>\r\nSubject: x\r\n\r\nhi\r\n')
    assert (empty.from_name, empty.from_address, empty.reply_to) == ("Kari", "kari@example.no", "kari@example.no")
    comma = parse(b"From: =?iso-8859-1?Q?B=FCrling,=20Andreas?= <a@example.de>\r\n\r\nhi\r\n")
    assert (comma.from_name, comma.from_address) == ("Bürling, Andreas", "a@example.de")
    root_dot = parse(b'From: "Clement" <Claudia@yahoo.com.>\r\n\r\nhi\r\n')
    assert (root_dot.from_name, root_dot.from_address) == ("Clement", "claudia@yahoo.com")
    bare = parse(b"From: Test Person Test@example.com\r\n\r\nhi\r\n")  # no angle brackets
    assert (bare.from_name, bare.from_address) == ("Test Person", "test@example.com")
    quoted = parse(b'From: "Lottery transfer"@example.com\r\n\r\nhi\r\n')  # a quoted local part is one address
    assert (quoted.from_name, quoted.from_address) == ("", '"lottery transfer"@example.com')


def test_unlabelled_8_bit_text_is_read_in_the_charset_the_message_declares_elsewhere() -> None:
    # a raw GB2312 name in From (no encoded word); the body's parts say GB2312 (detection alone
    # reads these six bytes as Big5: 挕擘傖)
    name = "武兰成".encode("gb18030")
    raw = (
        b'From: "' + name + b'" <wu@example.cn>\r\nSubject: hi\r\nMIME-Version: 1.0\r\n'
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nSpam report\r\n"
        b"--b\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n" + "你好".encode("gb2312") + b"\r\n--b--\r\n"
    )
    assert parse(raw).from_name == "武兰成"  # the multi-byte declaration first: it refuses what isn't its
    # a body without a charset, its subject's encoded word in ISO-8859-1: read as Latin-1, not guessed
    latin = b"From: a@example.de\r\nSubject: =?iso-8859-1?Q?Gr=FC=DFe?=\r\n\r\n\xe4\xf6\xfc\xdf ad asd\r\n"
    parsed = parse(latin)
    assert (parsed.subject, parsed.text.strip()) == ("Grüße", "äöüß ad asd")
    # a declared label still wins, and UTF-8 is still tried first
    assert parse(b"Subject: =?iso-8859-1?Q?x?=\r\n\r\nbl\xc3\xa5b\xc3\xa6r\r\n").text.strip() == "blåbær"


def test_every_inline_part_is_the_body_and_attached_mail_stays_whole() -> None:
    raw = (
        b'From: a@example.no\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nfirst text\r\n"
        b"--b\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>then html</p>\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.no\r\nSubject: Forwarded one\r\n\r\ninner body\r\n"
        b"--b--\r\n"
    )
    parsed = parse(raw)
    assert "first text" in parsed.text and "then html" in parsed.text and "inner body" not in parsed.text
    assert parsed.html.index("first text") < parsed.html.index("cid:") < parsed.html.index("then html")
    names = [a.filename for a in parsed.attachments]
    assert names == ["image.png", "Forwarded one.eml"]
    assert b"inner body" in parsed.attachments[1].payload


def test_a_delivery_report_shows_its_human_part_and_keeps_the_report() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example (Mail Delivery System)\r\nSubject: Undelivered Mail\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--r\r\nContent-Type: message/rfc822\r\n\r\nFrom: us@acme.test\r\nSubject: Our offer\r\n\r\nthe offer\r\n"
        b"--r--\r\n"
    )
    parsed = parse(raw)
    assert parsed.text.startswith("This is the mail system at host mx.example.")
    assert "the offer" not in parsed.text
    report, original = parsed.attachments
    assert (report.filename, report.content_type) == ("Delivery report.txt", "text/plain")
    assert b"Status: 5.1.1" in report.payload
    assert original.filename == "Our offer.eml"
