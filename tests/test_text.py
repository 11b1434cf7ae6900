"""Text from jobs and tasks made safe to store and to show (``cronjobs.text``), on its own."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cronjobs.text import (
    CUT_MARKER,
    TEXT_CUT_MARKER,
    ascii_only,
    bounded,
    printable,
    storable,
    storable_json,
    unstorable,
)

PROPERTIES = settings(max_examples=300, deadline=None, database=None)
ANY_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=())),  # surrogates and controls included
    st.binary().map(lambda raw: raw.decode("utf-8", "surrogateescape")),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | ANY_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=12,
)


def test_nul_and_lone_surrogates_are_stored_as_python_writes_them():
    assert storable("caf\udce9.csv") == "caf\\udce9.csv"
    assert storable("a\x00b") == "a\\x00b"
    assert storable("\ud83d\ude00") == "\\ud83d\\ude00"  # two lone surrogates, not a character
    assert storable("caf\u00e9 \U0001f600 \x1b[31m\t\n") == "caf\u00e9 \U0001f600 \x1b[31m\t\n"  # all storable


@PROPERTIES
@given(ANY_TEXT)
def test_stored_text_encodes_as_utf_8_without_nul_and_is_unchanged_when_it_could_be_stored(text):
    stored = storable(text, None)
    stored.encode("utf-8")  # never raises
    assert "\x00" not in stored and unstorable(stored) is None
    assert (stored == text) == (unstorable(text) is None)


@PROPERTIES
@given(ANY_TEXT, ANY_TEXT)
def test_escaping_is_character_by_character(first, second):
    assert storable(first + second, None) == storable(first, None) + storable(second, None)


def test_long_text_keeps_its_head_and_tail_and_says_how_much_was_cut():
    assert bounded("abcdefghij", 4) == "ab" + TEXT_CUT_MARKER.format(count=6) + "ij"
    assert bounded("abcdefghij", 5, CUT_MARKER) == "ab" + CUT_MARKER.format(count=5) + "hij"
    assert bounded("abc", 3) == "abc"
    assert storable("\x00" * 10, 8) == "\\x00" + TEXT_CUT_MARKER.format(count=32) + "\\x00"  # escaped, then cut


@PROPERTIES
@given(JSON)
def test_json_values_are_stored_with_their_strings_and_keys_escaped(value):
    stored = storable_json(value)
    assert unstorable(stored) is None
    if unstorable(value) is None:
        assert stored is value  # nothing to change: not even a copy


def test_unstorable_says_what_and_where():
    assert unstorable("ok") is None
    assert unstorable("caf\udce9") == "a lone surrogate (\\udce9) at index 3"
    assert unstorable([1, {"a": ["", "x\x00"]}]) == "a NUL character at index 1 of item 1 of key 'a' of item 1"
    assert unstorable({"k\x00": 1}) == "a NUL character at index 1 of a key"
    assert unstorable(("x", "\ud800")) == "a lone surrogate (\\ud800) at index 0 of item 1"


def test_printable_text_escapes_controls_bidirectional_overrides_and_surrogates():
    assert printable("\x1b]0;owned\x07\x1b[2Jred") == "\\x1b]0;owned\\x07\\x1b[2Jred"
    assert printable("a\tb\nc\rd\x7f\x9b") == "a\\x09b\\x0ac\\x0dd\\x7f\\x9b"
    assert printable("a\tb\nc\rd", lines=True) == "a\tb\nc\\x0dd"
    assert printable("evil \u202egnp.exe caf\udce9") == "evil \\u202egnp.exe caf\\udce9"
    assert printable("caf\u00e9 \U0001f600 plain") == "caf\u00e9 \U0001f600 plain"


@PROPERTIES
@given(ANY_TEXT)
def test_printable_text_holds_no_control_character_and_encodes(text):
    shown = printable(text)
    shown.encode("utf-8")
    assert not any(c < " " or "\x7f" <= c <= "\x9f" for c in shown)


@PROPERTIES
@given(ANY_TEXT, st.integers(min_value=0, max_value=50))
def test_ascii_only_is_ascii_and_bounded(text, limit):
    stored = ascii_only(text, limit)
    assert stored.isascii() and "\x00" not in stored
    assert len(stored) <= limit + len(TEXT_CUT_MARKER.format(count=len(text) * 10))
