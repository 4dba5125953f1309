"""``word_count`` counts exactly the matches of the word regex, by another route."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from coprod_nb.domain import word_count
from coprod_nb.domain.transcript import _FEW_NON_ASCII, _WORD

# the characters where the two routes could part: joiners next to each other, at the
# ends, beside non-ASCII letters, combining marks, digits and the underscore
_EDGES = "ab1_ '’--\n\t.,;é\u0301ΩжЖ中😀‐«»"
_TEXT = st.text(alphabet=st.sampled_from(_EDGES), max_size=40)


def by_regex(text: str) -> int:
    return len(_WORD.findall(text))


@settings(max_examples=3000, deadline=None)
@given(_TEXT)
def test_the_count_is_that_of_the_regex(text):
    assert word_count(text) == by_regex(text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_the_count_is_that_of_the_regex_on_any_text(text):
    assert word_count(text) == by_regex(text)


def test_words_joined_and_not():
    assert word_count("don't stop—well-being's up") == 4
    assert word_count("rock -- roll ' n' 'quoted' x'-y") == 6
    assert word_count("l’été dernier") == 2
    assert word_count("") == 0


def test_a_text_of_many_non_ascii_characters_is_counted_by_the_regex():
    many = " ".join(chr(0x4E00 + i) for i in range(_FEW_NON_ASCII + 5))
    assert word_count(many) == by_regex(many) == _FEW_NON_ASCII + 5
    greek = "καλημέρα σας, τι κάνετε; " + string.ascii_letters
    assert word_count(greek) == by_regex(greek)
