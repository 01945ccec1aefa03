"""Untrusted text: what may be stored, and how it is shown safely.

Every string an entry carries comes from a person, a script or another desk. Two rules:

* **Storing** (`text_problem`): valid Unicode only (no lone surrogates, which a byte that is not
  UTF-8 becomes under Python's ``surrogateescape``), no NUL, no control characters except a
  newline and a tab in multi-line text. A single-line field refuses newlines too, so a symptom
  cannot forge extra lines on a sheet or a terminal.
* **Showing**: bidirectional controls (the "Trojan Source" characters, CVE-2021-42574) can make
  "gpj.exe" read "exe.jpg"; they are removed before text reaches the window or a PDF
  (`for_display`) and escaped on a terminal (`for_terminal`), which also escapes every other
  control character (ESC, CR, BS, OSC sequences) the way git and systemd do, as ``\\x1b``.
"""

from __future__ import annotations

import re

# U+202A-U+202E embeddings/overrides, U+2066-U+2069 isolates, U+200E/U+200F/U+061C marks.
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
# C0 controls but tab and newline, DEL, C1 controls: never stored.
_CONTROL_MULTI = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# What a terminal must not receive raw: every control character and the bidi controls.
_UNSAFE_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")
_UNSAFE_TERMINAL_KEEP_NL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]"
)


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` may not be stored, in words for the person who typed it; None if it may."""
    if _SURROGATE.search(value):
        return "holds bytes that are not UTF-8 text; re-type it or convert the file to UTF-8"
    bad = (_CONTROL_MULTI if multiline else _CONTROL_LINE).search(value)
    if bad is None:
        return None
    char = bad.group()
    if char == "\n":
        return "must be one line (no line breaks)"
    if char == "\x00":
        return "holds a NUL character; remove it"
    return f"holds the control character {_escape(char)}; remove it"


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def for_terminal(value: object, *, keep_newlines: bool = False) -> str:
    """`value` as text that cannot move the cursor, clear the screen, write the clipboard or
    reorder what follows it: control and bidi characters become visible escapes."""
    text = value if isinstance(value, str) else str(value)
    pattern = _UNSAFE_TERMINAL_KEEP_NL if keep_newlines else _UNSAFE_TERMINAL
    text = pattern.sub(lambda m: _escape(m.group()), text)
    # A lone surrogate cannot be encoded for the terminal at all; show its code point.
    return _SURROGATE.sub(lambda m: _escape(m.group()), text)


def for_display(value: object, *, multiline: bool = False) -> str:
    """`value` for the window or a PDF: bidi controls removed, other controls shown as escapes
    (newlines kept only where the place shows several lines)."""
    text = value if isinstance(value, str) else str(value)
    text = _BIDI.sub("", text)
    pattern = _CONTROL_MULTI if multiline else _CONTROL_LINE
    text = pattern.sub(lambda m: _escape(m.group()), text)
    return _SURROGATE.sub(lambda m: _escape(m.group()), text)
