"""What a document may hold before a parser sees it: text runs and entries are cut to size.

The reference parser's cost is not linear in every field: its e-mail regex over an author is
quadratic (20 KB took 1.4 s, 80 KB 21 s, 400 KB over 300 s: issue 22), and it keeps every entry
of a document in memory (100,000 tiny items outgrow 256 MB). So text between tags is cut here, on
the bytes, in one linear pass, before either parser reads it (both then read the same document),
and the reference parser is handed at most ``MAX_PARSED_ENTRIES`` entries. What is cut is more
than any message carries (``rss_items``: a summary of 4,000 characters, an author of 1,000).
"""

from __future__ import annotations

import re

MAX_TEXT_BYTES = 64 * 1024  # one run of text between two tags
MAX_NAME_BYTES = 2 * 1024  # the text of an author, creator, name or e-mail element
MAX_PARSED_ENTRIES = 10_000  # feedparser-rs's own limit (ParserLimits.max_entries)

# A run of anything but '<' that starts right after a '<' (the lookbehind makes each run one
# attempt: linear); it holds the tag, then the text after it. Shorter runs are left alone.
_LONG_RUN = re.compile(rb"(?<=<)[^<]{%d,}" % MAX_TEXT_BYTES)
# Matched against the document in lower case: the same matches as re.IGNORECASE (ASCII either way
# for bytes), at two thirds of its cost.
_NAME_OPEN = re.compile(
    rb"<(?:[\w.-]+:)?(?:author|creator|name|email|managingeditor|webmaster|publisher|contributor)\b[^<>]*>"
    rb"(\s*<!\[cdata\[)?"
)
_CDATA = b"![CDATA["
_ENTRY = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")
_WIDE_START = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<", b"\x00\x00")


def cap_text(body: bytes) -> bytes:
    """The document with each text run cut to ``MAX_TEXT_BYTES`` (``MAX_NAME_BYTES`` in name elements)."""
    if body.startswith(_WIDE_START):
        return body  # UTF-16 and UTF-32: a byte cut could split a character; the size cap bounds them
    return _LONG_RUN.sub(_cut_run, _cap_names(body))


def _cap_names(body: bytes) -> bytes:
    parts, position = [], 0
    for opening in _NAME_OPEN.finditer(body.lower()):  # bytes.lower() keeps every offset
        start = opening.end()
        if start < position:
            continue
        end = body.find(b"]]>" if opening.group(1) else b"<", start)
        end = len(body) if end == -1 else end
        if end - start > MAX_NAME_BYTES:
            parts += [body[position:start], _trim(body[start:end], MAX_NAME_BYTES)]
            position = end
    return b"".join([*parts, body[position:]]) if parts else body


def _cut_run(run: re.Match[bytes]) -> bytes:
    piece = run.group()
    if piece.startswith(_CDATA):
        closing = piece.rfind(b"]]>")
        closing = len(piece) if closing == -1 else closing
        return _CDATA + _trim(piece[len(_CDATA) : closing], MAX_TEXT_BYTES) + piece[closing:]
    end_of_tag = piece.find(b">") + 1
    if end_of_tag == 0:
        return piece  # a tag that long: its attributes, not text
    return piece[:end_of_tag] + _trim(piece[end_of_tag:], MAX_TEXT_BYTES)


def _trim(text: bytes, limit: int) -> bytes:
    """``text`` cut to at most ``limit`` bytes, not inside a UTF-8 sequence or an entity reference."""
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and text[cut] & 0xC0 == 0x80:
        cut -= 1
    ampersand = text.rfind(b"&", max(0, cut - 12), cut)
    if ampersand != -1 and text.find(b";", ampersand, cut) == -1:
        cut = ampersand
    return text[:cut]


def count_entries(body: bytes) -> int:
    """How many items or entries an XML document opens."""
    return sum(1 for _ in _ENTRY.finditer(body))


def first_entries(body: bytes, limit: int = MAX_PARSED_ENTRIES) -> bytes:
    """The document up to its ``limit``-th entry, closed again; the whole document when it has no more."""
    for index, entry in enumerate(_ENTRY.finditer(body)):
        if index == limit:
            head = body[: entry.start()]
            closing = b"</feed>" if b"<feed" in head[:4096] else b"</rdf:RDF>" if b"<rdf:RDF" in head else b""
            return head + (closing or b"</channel></rss>")
    return body
