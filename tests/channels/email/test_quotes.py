"""Where the new part of a plain-text reply ends and the quoted history begins."""

from __future__ import annotations

from samtale.channels.email.quotes import split_text

RULE = "_" * 40


def test_outlooks_separator_above_a_header_block_starts_the_history() -> None:
    for header in ("From: Kari <kari@example.no>", "Fra: Kari Nordmann", "Von: Kari"):
        body = f"Thanks, that works.\n\n{RULE}\n{header}\nSent: Monday\nSubject: Order\n\nOld text\n"
        main, quoted = split_text(body)
        assert main == "Thanks, that works."
        assert quoted.startswith(RULE) and "Old text" in quoted


def test_a_line_of_underscores_alone_is_decoration_not_history() -> None:
    # newsletters draw rules between sections: nothing below one is history
    body = f"Section one news\n{RULE}\nSection two news\n{RULE}\nSection three: more news\n"
    assert split_text(body) == (body, "")
    body = f"Section one\n{RULE}\n\n"
    assert split_text(body) == (body, "")


def test_on_date_someone_wrote_starts_the_history() -> None:
    main, quoted = split_text("Yes please.\n\nOn Mon, 1 Dec 2026, Kari <k@example.no> wrote:\n> Want it?\n")
    assert main == "Yes please."
    assert quoted.startswith("On Mon")
