"""``PseudonymTable`` runs the key's pattern only where a name can start
(``_matches``); it must find exactly what the pattern finds on each text alone (a missed
match keeps a real name), so it is checked against the pattern itself on keys and texts
made of the letters where case-insensitive matching is subtle."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from coprod_nb.domain import PseudonymTable

# "K" Kelvin sign, "ſ" long s, dotless "ı" and dotted "İ" equal ASCII letters when case
# is ignored; "é" composed and decomposed, "ß" whose casefold is two letters, a
# combining mark alone, the curly apostrophe and a line break.
_LETTERS = "aeiksKIS\u212a\u017f\u0131\u0130\u00e9\u00c9e\u0301ß\u0301"
_TEXT_CHARS = _LETTERS + " ’-\n.x"

_NAME = st.text(alphabet=st.sampled_from(_LETTERS), min_size=1, max_size=4)
_FULL = st.lists(_NAME, min_size=1, max_size=2).map(" ".join)


def by_pattern(key: PseudonymTable, texts: list[str]) -> dict[int, list[tuple[int, int]]]:
    key._compile()
    assert key._pattern is not None
    spans = {i: [m.span() for m in key._pattern.finditer(t)] for i, t in enumerate(texts)}
    return {i: s for i, s in spans.items() if s}


@st.composite
def key_and_texts(draw):
    names = draw(st.lists(_FULL, min_size=1, max_size=3, unique_by=lambda n: n.casefold()))
    mapping = {n: f"P{i}" for i, n in enumerate(names)}
    piece = st.one_of(
        st.text(alphabet=st.sampled_from(_TEXT_CHARS), max_size=8),
        st.sampled_from(names),
        st.sampled_from(names).map(str.upper),
        st.sampled_from(names).map(lambda n: unicodedata.normalize("NFD", n)),
    )
    texts = draw(st.lists(st.lists(piece, max_size=4).map("".join), max_size=6))
    return mapping, texts


@settings(max_examples=2500, deadline=None)
@given(key_and_texts())
def test_the_names_found_are_those_the_pattern_finds(case):
    mapping, texts = case
    key = PseudonymTable(mapping)
    assert key._matches(texts) == by_pattern(key, texts)
    assert key.apply_many(texts) == [
        key._pattern.sub(lambda m: key._replacement(m.group(0)), t) for t in texts
    ]


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=6), st.just("Q"), min_size=1, max_size=3),
    st.lists(st.text(max_size=30), max_size=5),
)
def test_any_key_and_any_text(mapping, texts):
    key = PseudonymTable({k: v for k, v in mapping.items() if k.split()})
    assert key._matches(texts) == by_pattern(key, texts)


def test_names_next_to_each_other_and_inside_words():
    key = PseudonymTable({"Ann Lee": "Bo Kay", "Anna": "Cy", "Lee": "Dee"})
    texts = ["Ann Lee Lee", "Annabel and Anna", "ann leeway", "LEE-ANNA", ""]
    assert key.apply_many(texts) == ["Bo Kay Dee", "Annabel and Cy", "Bo leeway", "Dee-Cy", ""]
    assert key._matches(texts) == by_pattern(key, texts)
    # the spelling of a name found where it overlaps itself: the first place is inside
    # a word, the second is the name
    # (one-letter parts are not replaced alone, so "a a" is the only spelling)
    key = PseudonymTable({"A A": "Q"})
    assert key.apply_many(["xa a a"]) == ["xa Q"]


def test_a_kelvin_sign_or_long_s_in_the_text_is_a_letter_of_the_name():
    key = PseudonymTable({"Kiss": "Q"})
    texts = ["\u212aiss", "Ki\u017f\u017f", "kiss", "miss"]
    assert key.apply_many(texts) == ["Q", "Q", "Q", "miss"]


def test_a_letter_that_lowers_to_two_does_not_move_the_search_to_another_text():
    # "İ".lower() is two characters; the key has no "i", so the text is not searched in
    # full, and the places found in the lowered texts must still be those of the texts
    key = PseudonymTable({"Bob": "Q"})
    texts = ["\u0130\u0130\u0130\u0130", "Bob", "xxxxxx Bob"]
    assert key._matches(texts) == {1: [(0, 3)], 2: [(7, 10)]}
    assert key.apply_many(texts) == [texts[0], "Q", "xxxxxx Q"]


def test_a_changed_entry_is_applied_at_once():
    # the replacements a key has worked out are forgotten when an entry changes
    key = PseudonymTable({"Bob Ray": "Q"})
    assert key.apply_many(["Bob Ray", "bob"]) == ["Q", "Q"]
    key.add("Bob Ray", "Cy Dee")
    assert key.apply_many(["Bob Ray", "bob"]) == ["Cy Dee", "Cy"]
