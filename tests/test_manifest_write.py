"""Editing a study's set-up in the store, and writing it back out as a manifest.

A study of its own (no name shared with the demo), built from an empty study on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import tomllib

import pytest

from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.seed.manifest import (
    attributes_from_text,
    attributes_text,
    load_manifest,
    manifest_toml,
    write_manifest,
)
from coprod_nb.storage import Store


def harbour(store: Store) -> Store:
    """Two partnerships, three researchers, two participants, a key and a vocabulary."""
    store.update_study(name="Harbour and hill", description='Two cases,\n"quoted" & <b>bold</b>')
    store.add_partnership(
        "HFC", "Harbour Food Coalition", {"region": "east coast", "members": 7, "tags": ["a"]}
    )
    store.add_partnership("UPT", "Upland Play Trust")
    store.add_researcher("Rowan Vey", "rowan", True)
    store.add_researcher("Quill", "quill", real_name="Imogen Strand")
    store.add_researcher("Sorrel Dane")
    store.add_participant("Pat Ember", "HFC", "chair", True, True, real_name="Dorothy Kell")
    store.add_participant("Lou Brine", "UPT", "", True, False, real_name="Arthur Gale")
    store.set_pseudonym("Dot", "Pat Ember")
    store.set_pseudonym("Ned Fallow", "Officer X")
    store.set_note_categories(["practice", "barrier", "facilitator", "reflection", "surprise"])
    store.set_prompts(["What surprised you at the harbour?", "Who was missing?"])
    store.update_study(settings={"speaker_pattern": r"^(?P<speaker>[A-Z][a-z]+): (?P<text>.*)$"})
    return store


def setup_of(store: Store) -> dict:
    """Everything a manifest holds, as plain values."""
    study = store.study()
    shorts = {p.id: p.short for p in store.partnerships()}
    return {
        "study": (study.name, study.description, (study.settings or {}).get("speaker_pattern")),
        "categories": store.note_categories(),
        "prompts": store.prompts(),
        "partnerships": [(p.short, p.name, p.attributes) for p in store.partnerships()],
        "researchers": [(r.name, r.login, r.lead) for r in store.researchers()],
        "participants": [
            (
                p.name,
                shorts.get(p.partnership_id),
                p.role,
                p.consent_record,
                p.consent_quote,
            )
            for p in store.participants()
        ],
        "key": dict(store.pseudonym_key().mapping),
    }


def test_write_manifest_round_trips_into_a_fresh_study(store, tmp_path):
    harbour(store)
    (tmp_path / "private").mkdir()
    path = write_manifest(store, tmp_path / "private" / "harbour.toml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Study set-up written by coprod_nb") and "REAL NAMES" in text
    data = tomllib.loads(text)
    assert "transcripts" not in data
    assert {p["name"] for p in data["participants"]} == {"Dorothy Kell", "Arthur Gale"}
    fresh = Store(tmp_path / "fresh", actor="tester")
    try:
        load_manifest(fresh, path, progress=False)
        assert setup_of(fresh) == setup_of(store)
        # and written again, the same text
        assert manifest_toml(fresh) == text
    finally:
        fresh.close()


def test_write_manifest_refuses_nameless_participants_and_notebook_folders(store, tmp_path):
    store.add_participant("Wren Ash")
    with pytest.raises(InvalidInput, match="Wren Ash"):
        manifest_toml(store)
    store.set_pseudonym("Maud Ashby", "Wren Ash")
    beside = tmp_path / "nb"
    beside.mkdir()
    (beside / "00_setup.ipynb").write_text("{}")
    with pytest.raises(InvalidInput, match="beside notebooks"):
        write_manifest(store, beside / "m.toml")
    assert not (beside / "m.toml").exists()
    with pytest.raises(InvalidInput, match="not a folder"):
        write_manifest(store, tmp_path)


def test_partnership_edit_and_remove_only_while_nothing_refers(store):
    store.add_partnership("HFC", "Harbour Food Coalition")
    store.update_partnership("HFC", name="Harbour Food Collective", attributes={"region": "east"})
    p = store.partnership("HFC")
    assert (p.name, p.attributes) == ("Harbour Food Collective", {"region": "east"})
    store.update_partnership("HFC", short="HFK")
    assert store.partnership("HFK").id == p.id
    store.add_participant("Pat Ember", "HFK")
    with pytest.raises(Forbidden, match="1 participant"):
        store.update_partnership("HFK", short="HFC")
    with pytest.raises(Forbidden, match="1 participant"):
        store.remove_partnership("HFK")
    with pytest.raises(InvalidInput, match="needs a name"):
        store.update_partnership("HFK", name="  ")
    with pytest.raises(InvalidInput, match="table"):
        store.update_partnership("HFK", attributes=["region"])
    with pytest.raises(NotFound):
        store.remove_partnership("ZZZ")
    store.add_partnership("UPT", "Upland Play Trust")
    store.remove_partnership("UPT")
    assert [x.short for x in store.partnerships()] == ["HFK"]
    actions = [(e.action, e.object_id) for e in store.history("partnership")]
    assert actions.count(("update", p.id)) == 2 and actions[-1][0] == "delete"


def test_researcher_edits_keep_a_lead_and_a_unique_login(store):
    store.add_researcher("Rowan Vey", "rowan", True)
    store.add_researcher("Sorrel Dane", "sorrel")
    with pytest.raises(Forbidden, match="only lead"):
        store.update_researcher("rowan", lead=False)
    store.update_researcher("sorrel", lead=True)
    store.update_researcher("rowan", lead=False)
    assert [r.name for r in store.researchers() if r.lead] == ["Sorrel Dane"]
    with pytest.raises(InvalidInput, match="already has"):
        store.update_researcher("Rowan Vey", login="sorrel")
    assert store.researcher("Rowan Vey").login == "rowan"
    store.update_researcher("Rowan Vey", login="", name="Rowan V")
    assert store.researcher("Rowan V").login is None
    with pytest.raises(Forbidden, match="leads the study"):
        store.remove_researcher("Sorrel Dane")
    store.remove_researcher("Rowan V")
    assert [r.name for r in store.researchers()] == ["Sorrel Dane"]
    assert [e.action for e in store.history("researcher")][-1] == "delete"


def test_participant_edits_and_renames_follow_the_key(store):
    store.add_partnership("HFC", "Harbour Food Coalition")
    store.add_participant("Pat Ember", "HFC", real_name="Dorothy Kell")
    store.update_participant("Pat Ember", partnership=None, role="chair", consent_quote=True)
    p = store.participant("Pat Ember")
    assert (p.partnership_id, p.role, p.consent_quote, p.consent_record) == (
        None,
        "chair",
        True,
        False,
    )
    store.update_participant("Pat Ember", name="Pat Embers")
    assert store.pseudonym_key().mapping == {"Dorothy Kell": "Pat Embers"}
    with pytest.raises(NotFound):
        store.update_participant("Pat Embers", partnership="ZZZ")
    with pytest.raises(InvalidInput, match="differ"):
        store.update_participant("Pat Embers", name="dorothy kell")
    assert store.participant("Pat Embers").name == "Pat Embers"
    # a refused real name adds nobody
    with pytest.raises(InvalidInput, match="differ"):
        store.add_participant("Lou Brine", real_name="lou brine")
    assert [x.name for x in store.participants()] == ["Pat Embers"]


def test_renaming_someone_in_a_transcript_is_refused(store, tmp_path):
    from coprod_nb.ingest import import_transcripts

    store.add_researcher("Rowan Vey", "rowan", True)
    store.add_participant("Pat Ember")
    f = tmp_path / "hfc_2024-03-01.txt"
    f.write_text("Rowan Vey: Hello.\nPat Ember: Hi there.\n")
    import_transcripts(store, [f], progress=False)
    with pytest.raises(Forbidden, match="appears"):
        store.update_participant("Pat Ember", name="Pat E")
    with pytest.raises(Forbidden, match="appears"):
        store.update_researcher("rowan", name="R. Vey")
    store.update_researcher("rowan", login="rvey")  # other fields still change


def test_categories_and_prompts(store):
    store.add_partnership("HFC", "Harbour Food Coalition")
    store.add_researcher("Rowan Vey", "rowan", True)
    assert store.set_note_categories(["practice", "surprise"]) == ("practice", "surprise")
    store.add_note("Rowan Vey", "HFC", "unexpected", category="surprise", kind="self-reflection")
    with pytest.raises(Forbidden, match="surprise"):
        store.set_note_categories(["practice"])
    for bad, match in (([], "at least one"), (["a", " "], "blank"), (["a", "A"], "twice")):
        with pytest.raises(InvalidInput, match=match):
            store.set_note_categories(bad)
    with pytest.raises(InvalidInput, match="list"):
        store.set_prompts("one prompt")
    assert store.note_categories() == ("practice", "surprise")
    store.set_prompts(["Who was missing?"])
    assert store.prompts() == ("Who was missing?",)
    store.set_prompts(None)
    assert len(store.prompts()) > 1  # the shipped ones
    assert [e.action for e in store.history("study")][-1] == "update"


def test_attributes_text_round_trips_and_explains_bad_text():
    attrs = {"region": 'east "coast"', "members": 7, "kinds": ["food", "care"]}
    assert attributes_from_text(attributes_text(attrs)) == attrs
    assert attributes_from_text("") == {}
    with pytest.raises(InvalidInput, match="key = value"):
        attributes_from_text("region: east")
