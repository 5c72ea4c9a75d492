"""rss_entities: bounded internal entities expanded; external, parameter and runaway ones refused."""

from __future__ import annotations

import pytest
import rss_entities
import rss_fetch

ITEM = b"<rss version='2.0'><channel><title>t</title><item><title>%s</title></item></channel></rss>"


def document(declarations: bytes, title: bytes) -> bytes:
    return b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + declarations + b"\n]>\n" + ITEM % title


def test_a_document_without_declarations_is_left_alone() -> None:
    assert rss_entities.expand(ITEM % b"&amp; plain") is None
    assert rss_entities.expand(b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "x.dtd">' + ITEM % b"t") is None
    assert rss_entities.expand(document(b"<!ELEMENT rss ANY>", b"t")) is None


def test_nested_and_single_quoted_entities_are_expanded_where_they_are_used() -> None:
    body = document(b"<!ENTITY host 'example.com'>\n<!ENTITY id \"tag:&host;,2026:\">", b"&id;1 &amp; &#169;")
    expanded = rss_entities.expand(body)
    assert expanded is not None and b"<title>tag:example.com,2026:1 &amp; &#169;</title>" in expanded
    assert b"<!ENTITY" not in expanded and b"<!DOCTYPE rss [" in expanded


def test_references_in_cdata_and_comments_stay_text() -> None:
    expanded = rss_entities.expand(document(b'<!ENTITY e "x">', b"&e;<![CDATA[&e;]]><!-- &e; -->"))
    assert expanded is not None and b"x<![CDATA[&e;]]><!-- &e; -->" in expanded


def test_the_first_declaration_binds() -> None:
    expanded = rss_entities.expand(document(b'<!ENTITY e "first">\n<!ENTITY e "second">', b"&e;"))
    assert expanded is not None and b"<title>first</title>" in expanded


def test_many_small_references_add_up_to_the_limit() -> None:
    ten_kb = b"x" * 10_000
    assert rss_entities.expand(document(b'<!ENTITY e "' + ten_kb + b'">', b"&e;" * 100)) is not None  # 1,000,000
    with pytest.raises(rss_fetch.FeedError, match="expand beyond 1000000 bytes"):
        rss_entities.expand(document(b'<!ENTITY e "' + ten_kb + b'">', b"&e;" * 101))


@pytest.mark.parametrize(
    ("declarations", "error"),
    [
        (b'<!ENTITY a "&b;">\n<!ENTITY b "&a;">', "'a' refers to itself"),
        (
            b"\n".join(b'<!ENTITY e%d "&e%d;">' % (i, i + 1) for i in range(70)) + b'\n<!ENTITY e70 "x">',
            "deeper than 64",
        ),
        (b'<!ENTITY x SYSTEM "http://10.0.0.1/x" NDATA gif>', "external XML entity 'x' \\(SYSTEM\\)"),
        (b"<!ENTITY % p \"<!ENTITY e 'x'>\">\n%p;", "parameter entities"),
        (b'<!ENTITY e0 "x">\n%remote;', "parameter entities"),
        (b"<!ENTITY broken>", "unreadable XML entity declaration"),
    ],
)
def test_what_cannot_be_bounded_is_refused(declarations: bytes, error: str) -> None:
    with pytest.raises(rss_fetch.FeedError, match=error):
        rss_entities.expand(document(declarations, b"&e0;"))


def test_a_bomb_in_utf16_is_seen_and_refused() -> None:
    bomb = document(b'<!ENTITY a "' + b"x" * 65_536 + b'">', b"&a;" * 100).decode().encode("utf-16")
    with pytest.raises(rss_fetch.FeedError, match="UTF-16 document"):
        rss_entities.expand(bomb)
