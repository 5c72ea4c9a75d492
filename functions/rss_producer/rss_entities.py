"""Entity declarations in a feed's DTD: bounded internal ones are expanded, everything else is refused.

Neither parser can be left to judge a DTD (``python -m tools.bench.entity_measurements`` shows it):
feedparser keeps only the declarations whose value is plain text, and when expat stops a wide bomb
at its amplification limit, feedparser's loose parser expands the same entities without any limit
(a 72 KB document became a 131 MB title); feedparser-rs expands no declared entity at all. So the
declarations are read here, before either parser sees the document: an external or parameter
entity is refused, and so is a document whose references would expand beyond
``MAX_EXPANSION_BYTES``, a size computed from the declarations without expanding anything. What
passes is expanded here, and both parsers read the same entity-free document.
"""

from __future__ import annotations

import codecs
import re

from rss_fetch import FeedError

MAX_EXPANSION_BYTES = 1_000_000  # all entity references of one document together
MAX_DEPTH = 64  # entities within entities
PROLOG_BYTES = 1_000_000  # a DOCTYPE precedes the root element; one further in declares nothing

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
# The internal subset ends at the first "]" outside a quoted literal or a comment.
_SUBSET_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|\]", re.DOTALL)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DECLARATION = re.compile(
    rb"<!ENTITY\s+(%\s+)?([^\s%\"'>]+)\s+(?:(\"[^\"]*\"|'[^']*')\s*>|(SYSTEM|PUBLIC)\b)", re.IGNORECASE
)
_REFERENCE = re.compile(rb"&([^\s&;<>\"'#%]{1,200});")
_PARAMETER_REFERENCE = re.compile(rb"%[^\s;%\"']{1,200};")
_NOT_EXPANDED = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>", re.DOTALL)
_WIDE = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
         (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"))  # fmt: skip


def expand(body: bytes) -> bytes | None:
    """The document with its internal entities expanded and declared no more; None when it declares none.

    Raises ``FeedError`` naming the reason when a declaration is external, a parameter entity,
    unreadable, recursive or nested too deep, or when the references would expand beyond the limit.
    """
    wide = next((codec for prefix, codec in _WIDE if body.startswith(prefix)), None)
    text = body.decode(wide, "replace").encode() if wide else body  # to see UTF-16 and UTF-32 declarations
    doctype = _DOCTYPE.search(text, 0, PROLOG_BYTES)
    if doctype is None:
        return None
    opening = text.find(b"[", doctype.end())
    if opening == -1 or text.find(b">", doctype.end(), opening) != -1:
        return None  # no internal subset
    closing = next((m.start() for m in _SUBSET_TOKEN.finditer(text, opening + 1) if m.group() == b"]"), len(text))
    subset = _COMMENT.sub(b"", text[opening + 1 : closing])
    if not _ENTITY.search(subset):
        return None
    values = _declarations(subset)
    if wide:
        raise FeedError(f"XML entities in a {wide.upper()} document (refused)")
    sizes: dict[bytes, int] = {}
    for name in values:
        _expanded_size(name, values, sizes, ())
    total = 0
    for reference in _REFERENCE.finditer(text, closing):
        total += sizes.get(reference.group(1), 0)
        if total > MAX_EXPANSION_BYTES:
            raise FeedError(f"XML entities expand beyond {MAX_EXPANSION_BYTES} bytes (refused)")
    expanded: dict[bytes, bytes] = {}

    def replace(reference: re.Match[bytes]) -> bytes:
        name = reference.group(1)
        return _expansion(name, values, expanded) if name in values else reference.group()

    parts = [text[: opening + 1], _DECLARATION.sub(b"", subset)]
    position = closing
    for kept in _NOT_EXPANDED.finditer(text, closing):  # references in CDATA, comments and PIs are text
        parts += [_REFERENCE.sub(replace, text[position : kept.start()]), kept.group()]
        position = kept.end()
    parts.append(_REFERENCE.sub(replace, text[position:]))
    return b"".join(parts)


def _declarations(subset: bytes) -> dict[bytes, bytes]:
    """Each general entity's literal value; raises on anything that is not a plain internal entity."""
    found = list(_DECLARATION.finditer(subset))
    if _PARAMETER_REFERENCE.search(_DECLARATION.sub(b"", subset)) or any(m.group(1) for m in found):
        raise FeedError("XML parameter entities (refused)")
    values: dict[bytes, bytes] = {}
    for declaration in found:
        _, name, value, external = declaration.groups()
        if external:
            label = name.decode("utf-8", "replace")[:40]
            raise FeedError(f"external XML entity {label!r} ({external.decode().upper()}) refused")
        values.setdefault(name, value[1:-1])  # the first declaration binds (XML 1.0, 4.2)
    if len(found) != len(_ENTITY.findall(subset)):
        raise FeedError("unreadable XML entity declaration (refused)")
    return values


def _expanded_size(name: bytes, values: dict[bytes, bytes], sizes: dict[bytes, int], within: tuple[bytes, ...]) -> int:
    """Bytes one reference to ``name`` expands to, from the declarations alone (memoised)."""
    if name in sizes:
        return sizes[name]
    if name in within:
        raise FeedError(f"XML entity {name.decode('utf-8', 'replace')[:40]!r} refers to itself (refused)")
    if len(within) >= MAX_DEPTH:
        raise FeedError(f"XML entities nested deeper than {MAX_DEPTH} (refused)")
    value = values[name]
    size = len(value)
    for reference in _REFERENCE.finditer(value):
        if reference.group(1) in values:
            size += _expanded_size(reference.group(1), values, sizes, (*within, name)) - len(reference.group())
        if size > MAX_EXPANSION_BYTES:
            break  # already too big to be referenced; no need to add up a billion laughs
    sizes[name] = size
    return size


def _expansion(name: bytes, values: dict[bytes, bytes], expanded: dict[bytes, bytes]) -> bytes:
    """The replacement text, nested references included (sizes were checked: this is bounded).

    Character references stay as they are, for the parser to read where the text lands.
    """
    if name not in expanded:
        expanded[name] = _REFERENCE.sub(
            lambda r: _expansion(r.group(1), values, expanded) if r.group(1) in values else r.group(), values[name]
        )
    return expanded[name]
