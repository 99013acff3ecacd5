"""The one rule for every free-text field a client writes (names, types, firmware versions, serial
numbers, locations, reasons, attribute values): what operators read must show what it says.

Refused anywhere in a value:
* control characters (Unicode Cc: NUL, ``\\n``, ``\\t``, ESC, DEL, C1 …): they end log lines,
  move terminals' cursors and cut strings in C code;
* bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make
  text display in another order than it is stored ("Trojan Source", CVE-2021-42574), and the
  line and paragraph separators U+2028/U+2029, line breaks by another name.

Refused as a whole value: one made only of invisible characters (spaces, zero-width characters,
joiners, soft hyphens, fillers, variation selectors …), which displays as nothing. Such characters
inside visible text stay allowed (a zero-width joiner in an emoji sequence, a right-to-left mark in
Arabic text).

The rule is one regular expression (:data:`TEXT_PATTERN`), which the OpenAPI document publishes on
each field and :func:`visible_text` applies, so the document and the API cannot disagree
(tests/unit/test_document_patterns.py). Astral-plane invisible characters (tag characters
U+E0000…) are not listed: a JSON Schema regex without the ``u`` flag reads them as two surrogates."""

from __future__ import annotations

import re

from registry.domain.values import SPACE_CHARACTERS

CONTROL = r"\x00-\x1f\x7f-\x9f"
BIDI_CONTROLS = r"\u202a-\u202e\u2066-\u2069"
_FORBIDDEN = rf"{CONTROL}\u2028\u2029{BIDI_CONTROLS}"
_INVISIBLE = (
    SPACE_CHARACTERS
    + r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u2064\u206a-\u206f"
    + r"\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
)
_VISIBLE = rf"[^{_FORBIDDEN}{_INVISIBLE}]"
_ALLOWED = rf"[^{_FORBIDDEN}]"
# Empty, or allowed characters only and one visible at least.
TEXT_PATTERN = rf"^({_ALLOWED}*{_VISIBLE}{_ALLOWED}*)?$"
# The same for a field stored trimmed: surrounding whitespace (control characters among it, such
# as a trailing newline) is trimmed before the rule applies, so the document allows it there.
TRIMMED_TEXT_PATTERN = rf"^[{SPACE_CHARACTERS}]*({_ALLOWED}*{_VISIBLE}{_ALLOWED}*)?[{SPACE_CHARACTERS}]*$"
TEXT_RULE = (
    "No control characters (U+0000–U+001F, U+007F–U+009F), line or paragraph separators "
    "(U+2028, U+2029) or bidirectional controls (U+202A–U+202E, U+2066–U+2069), and not only "
    "invisible characters (spaces, zero-width characters): a 422 names the field."
)

_TEXT = re.compile(TEXT_PATTERN)
_FORBIDDEN_CHARACTER = re.compile(f"[{_FORBIDDEN}]")


def visible_text(value: str) -> str:
    """``value`` if it follows the rule; ValueError naming the first offending character."""
    if _TEXT.fullmatch(value):
        return value
    found = _FORBIDDEN_CHARACTER.search(value)
    if found:
        kind = "a control character" if re.fullmatch(f"[{CONTROL}]", found.group()) else "a bidirectional control"
        if found.group() in "\u2028\u2029":
            kind = "a line or paragraph separator"
        raise ValueError(f"must not contain {kind} (U+{ord(found.group()):04X} at position {found.start()})")
    raise ValueError("must contain a visible character, not only spaces or invisible ones")
