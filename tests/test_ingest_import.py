"""Importing files into a study: atomic, refuses duplicates, pseudonymises, reports."""

from __future__ import annotations

import pytest

from coprod_nb.analysis import study_info
from coprod_nb.errors import InvalidInput
from coprod_nb.ingest import ImportFailed, import_transcripts

GOOD = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nRowan Vey: We paid contributors late, Sol.\n\n"
    "00:00:04.500 --> 00:00:08.000\nSol Marr: And that cost us their trust.\n"
)


@pytest.fixture
def files(tmp_path):
    d = tmp_path / "incoming"
    d.mkdir()
    (d / "one_2021-05-01.vtt").write_text(GOOD, encoding="utf-8")
    (d / "two.txt").write_text(
        "Rowan Vey: Jargon again.\n\nSol Marr: Always jargon.\n", encoding="utf-8"
    )
    (d / "notes.pdf").write_bytes(b"%PDF-1.4 ignored: not a transcript suffix")
    return d


def _counts(store):
    info = study_info(store)
    return info["transcripts"], info["turns"]


def test_folder_import_with_progress_and_inferred_date(store, files):
    store.add_partnership("P1", "Partnership one")
    store.add_participant("Sol Marr", "P1")
    store.add_researcher("Rowan Vey")
    report = import_transcripts(store, [files], progress=False)
    assert sorted(f.title for f in report.imported) == ["one_2021-05-01", "two"]
    one = store.transcript("one_2021-05-01")
    assert one.date.isoformat() == "2021-05-01"
    assert one.partnership_id == store.partnership("P1").id
    assert [t.start_ms for t in store.turns(one.id)] == [1000, 4500]
    assert report.unmatched_speakers == {}
    assert report.errors == []


def test_a_bad_file_adds_nothing_and_is_named(store, files):
    (files / "broken.vtt").write_text("WEBVTT\n\n00:00:01.000 --> nonsense\nX: y\n")
    (files / "empty.srt").write_text("")
    with pytest.raises(ImportFailed) as info:
        import_transcripts(store, [files], progress=False)
    text = str(info.value)
    assert "broken.vtt, line 3" in text and "empty.srt" in text
    assert "nothing was added" in text
    assert _counts(store) == (0, 0)
    assert store.history("transcript") == []


def test_skip_bad_imports_the_good_files_and_reports_the_rest(store, files):
    (files / "broken.vtt").write_text("not a subtitle file at all")
    report = import_transcripts(store, [files], skip_bad=True, progress=False)
    assert len(report.imported) == 2
    assert [e.file for e in report.errors] == ["broken.vtt"]
    assert "broken.vtt" in str(report)


def test_same_content_twice_is_refused(store, files):
    import_transcripts(store, [files / "two.txt"], progress=False)
    copy = files / "two-again.txt"
    copy.write_bytes((files / "two.txt").read_bytes())
    with pytest.raises(ImportFailed, match="already in the study"):
        import_transcripts(store, [copy], progress=False)
    with pytest.raises(ImportFailed, match="same content"):
        import_transcripts(
            store, [files / "one_2021-05-01.vtt", files / "one_2021-05-01.vtt"], progress=False
        )
    assert _counts(store) == (1, 2)


def test_unmatched_speakers_are_listed(store, files):
    report = import_transcripts(store, [files / "two.txt"], progress=False)
    assert report.unmatched_speakers == {"Rowan Vey": ["two"], "Sol Marr": ["two"]}
    assert "map them" in str(report)


def test_names_in_the_key_never_reach_the_turns(store, files):
    store.set_pseudonym("Rowan Vey", "Interviewer 1")
    store.set_pseudonym("Sol Marr", "Leader 1")
    import_transcripts(store, [files / "one_2021-05-01.vtt"], progress=False)
    turns = store.turns("one_2021-05-01")
    assert [t.speaker for t in turns] == ["Interviewer 1", "Leader 1"]
    assert turns[0].text == "We paid contributors late, Leader 1."


def test_missing_path_and_empty_folder(store, tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        import_transcripts(store, [tmp_path / "nowhere.vtt"], progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="no transcript files"):
        import_transcripts(store, [tmp_path / "empty"], progress=False)


MANIFEST_HEAD = """
[[partnerships]]
short = "NHA"
name = "Northfield Health Alliance"

[[participants]]
name = "Sol Marr"
pseudonym = "Leader S"
partnership = "NHA"
"""


@pytest.mark.parametrize(
    ("entries", "place", "problem"),
    [
        (
            '[[transcripts]]\nfile = "one_2021-05-01.vtt"\npartnership = "XYZ"\n',
            "[[transcripts]] entry 1",
            "unknown partnership 'XYZ'",
        ),
        (
            '[[transcripts]]\nfile = "one_2021-05-01.vtt"\n\n[[transcripts]]\nfile = "copy.vtt"\n',
            "[[transcripts]] entry 2",
            "copy.vtt has the same content as entry 1",
        ),
        (
            '[[transcripts]]\nfile = "two.txt"\n\n[[transcripts]]\nfile = "missing.vtt"\n',
            "[[transcripts]] entry 2",
            "missing.vtt: the file does not exist",
        ),
        (
            '[[transcripts]]\nfile = "two.txt"\ndate = "2021-13-01"\n',
            "[[transcripts]] entry 1",
            "bad date '2021-13-01'",
        ),
    ],
    ids=["unknown-partnership", "same-content", "missing-file", "bad-date"],
)
def test_a_manifest_is_loaded_all_or_nothing(store, files, entries, place, problem):
    from coprod_nb.seed.manifest import load_manifest

    (files / "copy.vtt").write_text(GOOD, encoding="utf-8")
    manifest = files / "study.toml"
    manifest.write_text(MANIFEST_HEAD + "\n" + entries, encoding="utf-8")
    before = (study_info(store), store.partnerships(), store.participants())
    with pytest.raises(InvalidInput) as err:
        load_manifest(store, manifest, progress=False)
    assert (err.value.file, err.value.place) == ("study.toml", place)
    assert problem in err.value.problem
    assert (study_info(store), store.partnerships(), store.participants()) == before
    assert store.pseudonym_key().apply("Sol Marr") == "Sol Marr"


def test_the_garbage_collector_is_paused_for_an_import_and_left_as_it_was(
    store, files, monkeypatch
):
    # the collector is off while the files are read and written (an import's objects
    # hold no cycle), on again after, and left off for a caller who had turned it off
    import gc

    from coprod_nb.storage import ingest

    seen = []
    real = ingest.write_transcripts

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr("coprod_nb.ingest.importer.write_transcripts", spy)
    assert gc.isenabled()
    import_transcripts(store, [files / "two.txt"], progress=False)
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ImportFailed):  # a failed import turns it on again too
        import_transcripts(store, [files / "two.txt"], progress=False)
    assert gc.isenabled()
    gc.disable()
    try:
        import_transcripts(store, [files / "one_2021-05-01.vtt"], progress=False)
        assert not gc.isenabled()
    finally:
        gc.enable()
