"""Which parts are the body and what the others are called, where real mail (Zammad's corpus:
mail062, mail100) showed a user would expect otherwise."""

from __future__ import annotations

from samtale.channels.email.parse import parse


def related(*parts: str, start: str = "") -> bytes:
    boundary = "rel-b"
    head = f'Content-Type: multipart/related; boundary="{boundary}"' + (f'; start="<{start}>"' if start else "")
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"
    return f"From: kari@example.no\r\nSubject: x\r\nMIME-Version: 1.0\r\n{head}\r\n\r\n{body}".encode()


def test_html_parts_of_a_related_message_after_its_root_are_files_not_more_body() -> None:
    parsed = parse(related(
        "Content-Type: text/html\r\n\r\n<p>The message itself</p>",
        "Content-Type: text/html\r\n\r\n<html>a resource nothing shows</html>",
        "Content-Type: text/plain\r\n\r\nanother resource",
    ))  # fmt: skip
    assert "The message itself" in parsed.html and "resource" not in parsed.html + parsed.text
    assert [a.filename for a in parsed.attachments] == ["document.html", "document.txt"]


def test_the_root_of_a_related_message_is_the_part_its_start_names() -> None:
    parsed = parse(related(
        "Content-Type: text/plain\r\nContent-ID: <other@x>\r\n\r\nnot the root",
        "Content-Type: text/html\r\nContent-ID: <root@x>\r\n\r\n<p>the root</p>",
        start="root@x",
    ))  # fmt: skip
    assert "the root" in parsed.html and "not the root" not in parsed.html + parsed.text
    assert [a.filename for a in parsed.attachments] == ["document.txt"]


def test_a_nameless_part_is_named_by_its_content_id_only_when_that_ends_like_a_file_name() -> None:
    parsed = parse(related(
        "Content-Type: text/html\r\n\r\n<p>hi</p>",
        "Content-Type: image/jpeg\r\nContent-ID: <image001.jpg@01D7>\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ",
        "Content-Type: image/jpg\r\nContent-ID: <32497.1617621278.2@humeexp>\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ",
        "Content-Type: application/others\r\nContent-ID: <32497.1617621278.3@humeexp>\r\n\r\nxx",
        "Content-Type: application/others\r\n\r\nyy",
    ))  # fmt: skip
    # an image opens as one ("image.jpg", not "….2"); with nothing else to go by, the Content-ID beats "file"
    assert [a.filename for a in parsed.attachments] == ["image001.jpg", "image.jpg", "32497.1617621278.3", "file"]
