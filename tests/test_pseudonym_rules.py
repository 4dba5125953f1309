"""The pseudonym rules of coprod_nb/domain/pseudonyms.py (issue 15, item 4).

- matching is insensitive to Unicode normalisation (NFC, NFD) as well as to case, and
  offsets into the original text stay right;
- a pseudonym that is a real name of the key, a real name that is a pseudonym, and cycles
  are refused with a message naming both entries (through the command line: the bad-input
  contract of tests/badinput.py, on the demo and on the second study);
- two people sharing a first name: the documented rule, "[Alder or Birch]".
"""

from __future__ import annotations

import shutil
import unicodedata

import pytest

from coprod_nb.domain import PseudonymTable
from coprod_nb.domain.pseudonyms import canonical, check_entry, name_scrubber
from coprod_nb.errors import InvalidInput
from coprod_nb.storage import Store

from .badinput import assert_refused

NFC = unicodedata.normalize("NFC", "José Núñez")
NFD = unicodedata.normalize("NFD", "José Núñez")


def test_the_two_spellings_differ_as_strings_but_are_one_name():
    assert NFC != NFD and canonical(NFC) == canonical(NFD) == canonical(NFD.upper())


@pytest.mark.parametrize(("key_form", "text_form"), [(NFC, NFD), (NFD, NFC), (NFC, NFC)])
def test_a_name_is_replaced_in_either_normalisation_and_any_case(key_form, text_form):
    key = PseudonymTable({key_form: "Pat Orme"})
    for form in (text_form, text_form.upper(), text_form.lower()):
        text = f"I met {form} twice; {form.split()[0]} was late."
        new = key.apply(text)
        assert canonical("José") not in canonical(new) and canonical("Núñez") not in canonical(new)
        assert new == "I met Pat Orme twice; Pat was late."
    scrub = name_scrubber({key_form: "Pat Orme"})
    assert scrub(f"notes on {text_form.lower()}.")[0] == "notes on Pat Orme."


def test_offsets_stay_on_the_original_characters_of_a_decomposed_text():
    key = PseudonymTable({NFC: "P"})
    text = f"«{NFD}» said hello"
    new, moved = key.apply_mapped(text)
    assert new == "«P» said hello"
    after = text.index("»")
    assert new[moved(after)] == "»" and new[moved(text.index("said")) :].startswith("said")
    assert moved(len(text)) == len(new)


def test_a_name_does_not_end_inside_a_decomposed_letter():
    key = PseudonymTable({"Jose Lima": "Pat Orme"})
    assert key.apply(unicodedata.normalize("NFD", "José said so")) == unicodedata.normalize(
        "NFD", "José said so"
    )
    assert name_scrubber({"Jose": "P"})(unicodedata.normalize("NFD", "José"))[1] == 0


# -- two people sharing a first name ------------------------------------------------------


def test_a_first_name_shared_by_two_people_names_both_candidates():
    key = PseudonymTable({"Helen Marsh": "Alder", "Helen Okafor": "Birch", "Sam Reed": "Cedar"})
    text = "Helen Marsh and Helen Okafor met; Helen said yes, Sam agreed, Okafor left."
    assert key.apply(text) == (
        "Alder and Birch met; [Alder or Birch] said yes, Cedar agreed, Birch left."
    )


def test_an_entry_of_its_own_decides_who_a_shared_first_name_is():
    key = PseudonymTable({"Helen Marsh": "Alder", "Helen Okafor": "Birch", "Helen": "Alder"})
    assert key.apply("Helen said yes.") == "Alder said yes."


def test_a_shared_first_name_of_same_shape_pseudonyms_names_both_parts():
    key = PseudonymTable({"Helen Marsh": "Jo Linden", "Helen Okafor": "Kim Hale"})
    assert key.apply("HELEN agreed") == "[Jo or Kim] agreed"


# -- keys that are refused -----------------------------------------------------------------


def test_check_entry_refuses_a_pseudonym_that_is_a_real_name():
    with pytest.raises(InvalidInput, match=r"'helen marsh'.*'Helen Marsh' -> 'Alder'"):
        check_entry({"Helen Marsh": "Alder"}, "Sam Reed", "helen marsh")
    with pytest.raises(InvalidInput, match=r"'Helen'.*'Helen Marsh' -> 'Alder'"):
        check_entry({"Helen Marsh": "Alder"}, "Sam Reed", "Helen")
    with pytest.raises(InvalidInput, match=r"already the pseudonym.*'Sam Reed' -> 'Jo Linden'"):
        check_entry({"Sam Reed": "Jo Linden"}, "Jo Linden", "Kim")


def test_check_entry_refuses_cycles_of_any_length():
    with pytest.raises(InvalidInput, match=r"cycle.*'Ann' -> 'Bob' -> 'Ann'"):
        check_entry({"Bob": "Ann"}, "Ann", "Bob")
    # A longer one (a key written before these rules, or by hand) is named whole.
    with pytest.raises(InvalidInput, match=r"cycle.*'Cy' -> 'Ann' -> 'Bob' -> 'Cy'"):
        check_entry({"Ann": "Bob", "Bob": "Cy"}, "Cy", "Ann")


def test_check_entry_keeps_one_entry_per_name_in_any_normalisation():
    assert check_entry({NFC: "Pat"}, NFD.upper(), "Pat Orme") == (NFC, "Pat Orme")
    assert check_entry({}, NFD, "Pat") == (NFC, "Pat")


def test_the_store_changes_the_entry_instead_of_doubling_it(tmp_path):
    with Store(tmp_path / "s", actor="tester", create=True) as st:
        st.set_pseudonym(NFC, "Pat Orme")
        st.set_pseudonym(NFD, "Pat Orme-Lee")
        assert st.pseudonym_key().mapping == {NFC: "Pat Orme-Lee"}


@pytest.fixture(params=["demo", "second"])
def study(request, tmp_path, second_templates):
    template = (
        request.getfixturevalue("demo_template")
        if request.param == "demo"
        else second_templates("transcripts")
    )
    dest = tmp_path / request.param
    shutil.copytree(template, dest)
    with Store(dest, actor="tester") as st:
        key = st.pseudonym_key().mapping
    return dest, key


def test_a_pseudonym_that_is_another_real_name_is_refused(study, capsys):
    folder, key = study
    (real_a, pseudo_a), (real_b, pseudo_b) = list(key.items())[:2]
    err = assert_refused(
        ["pseudonym", str(folder), real_a, real_b, "--as", "tester"],
        folder,
        capsys,
        names=(real_a, real_b, pseudo_b, "real name of another entry"),
    )
    assert "Traceback" not in err


def test_a_two_way_key_is_refused(study, capsys):
    folder, key = study
    real, pseudo = next(iter(key.items()))
    assert_refused(
        ["pseudonym", str(folder), pseudo, real, "--as", "tester"],
        folder,
        capsys,
        names=(real, pseudo, "cycle"),
    )


def test_a_real_name_that_is_someones_pseudonym_is_refused(study, capsys):
    folder, key = study
    real, pseudo = next(iter(key.items()))
    assert_refused(
        ["pseudonym", str(folder), pseudo, "Someone Else", "--as", "tester"],
        folder,
        capsys,
        names=(real, pseudo, "already the pseudonym"),
    )


def test_a_decomposed_name_in_an_imported_transcript_is_replaced(study, capsys, tmp_path):
    from coprod_nb.cli import main

    folder, _ = study
    assert main(["pseudonym", str(folder), NFC, "Pat Orme", "--as", "tester"]) == 0
    source = tmp_path / "nfd-interview.txt"
    source.write_text(
        f"Interviewer: Tell me about {NFD}.\n{NFD.upper()}: Well, {NFD.split()[0]} is me.\n",
        encoding="utf-8",
    )
    with Store(folder, actor="tester") as st:
        short = st.partnerships()[0].short
    status = main(["import", str(folder), str(source), "--partnership", short, "-q"])
    assert status == 0, capsys.readouterr().err
    with Store(folder, actor="tester") as st:
        tr = next(t for t in st.transcripts() if t.source_name == source.name)
        with st.session(write=False) as s:
            from coprod_nb.storage.models import Transcript

            text = s.get(Transcript, tr.id).text
    assert canonical("José") not in canonical(text) and canonical("Núñez") not in canonical(text)
    assert "Pat Orme" in text


def test_the_pseudonym_editor_shows_a_refused_entry_as_an_error(tmp_path):
    from coprod_nb.widgets.setup import PseudonymEditor

    with Store(tmp_path / "s", actor="tester", create=True) as st:
        st.set_pseudonym("Ann Lee", "Bo Kay")
        editor = PseudonymEditor(st)
        editor.real_name.value, editor.pseudonym.value = "Bo Kay", "Ann Lee"
        editor.button.click()
        assert "cp-error" in editor.status.value and "cycle" in editor.status.value
        assert st.pseudonym_key().mapping == {"Ann Lee": "Bo Kay"}


def test_one_pass_over_many_texts_replaces_each_as_alone(study):
    # What an import does with every label and turn of a file: the study's own key and
    # texts, and texts that start or end in a name or hold nothing but one.
    path, key = study
    table = PseudonymTable(dict(key))
    with Store(path, actor="tester") as st:
        texts = [f for t in st.turns(st.transcripts(text=False)[0].id) for f in (t.speaker, t.text)]
    names = list(key)
    texts += [names[0], f"{names[-1]}.", f"({names[0]})", "", NFD, names[0].split()[0]]
    replaced = table.apply_many(texts)
    assert replaced == [table.apply(t) for t in texts]
    assert replaced[-6] != texts[-6]  # a name alone is replaced
