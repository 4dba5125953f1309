"""The synthetic study: the same seed builds the same study, and the study is complete."""

from __future__ import annotations

import pytest

from coprod_nb.analysis import study_info
from coprod_nb.errors import InvalidInput
from coprod_nb.seed.synth import build_synthetic_study
from tests.acting import as_

TINY = dict(
    transcripts=3, words=300, researchers=3, notes=30, tensions=4, participants=4, progress=False
)


def _fingerprint(store) -> tuple:
    info = study_info(store)
    counts = {k: v for k, v in info.items() if k not in ("study", "words_per_transcript")}
    first = store.transcripts()[0]
    turn = store.turns(first.id, 0, 1)[0]
    notes = store.notes()  # step 1 is closed: every note
    return (
        counts,
        sorted(info["words_per_transcript"].items()),
        first.title,
        (turn.speaker, turn.text),
        [(n.category, n.text, len(n.excerpts)) for n in notes],
        [t.name for t in store.tensions()],
    )


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    stores = {
        name: build_synthetic_study(tmp_path_factory.mktemp(name), seed=seed, **TINY)
        for name, seed in (("a", 0), ("b", 0), ("c", 1))
    }
    yield stores
    for store in stores.values():
        store.close()


def test_same_seed_same_study(builds):
    a, b = _fingerprint(builds["a"]), _fingerprint(builds["b"])
    assert a == b
    counts = a[0]
    assert counts["transcripts"] == 3 and counts["researchers"] == 3
    assert counts["notes"] == 30 and counts["tensions"] == 4
    assert all(words >= 300 for _, words in a[1])


def test_other_seed_other_study(builds):
    a, c = _fingerprint(builds["a"]), _fingerprint(builds["c"])
    assert a[0]["transcripts"] == c[0]["transcripts"]
    assert a[3] != c[3]  # the first turn's text differs
    assert a[4] != c[4]


def test_study_is_complete(builds):
    store = builds["a"]
    assert store.step_closure() is not None
    assert [v.version for v in store.framework_versions()] == [1, 2]
    assert store.framework(2).codes != store.framework(1).codes  # the decisions changed it
    poll = store.poll("opening")
    assert poll.closed_at is not None
    assert len(store.ballots(poll.id)) == 4
    assert store.responses()
    assert store.evidence()
    assert any(n.excerpts for n in as_(store, "Alder").notes())
    assert store.unmatched_speakers() == {}  # interviewers and leaders are people of the study


def test_refuses_an_existing_study(builds):
    with pytest.raises(InvalidInput):
        build_synthetic_study(builds["a"].study_dir, **TINY)


def test_the_synth_command_builds_a_study(tmp_path, capsys):
    from coprod_nb.cli import main

    args = [
        "synth",
        str(tmp_path / "big"),
        "--transcripts",
        "2",
        "--words",
        "300",
        "--researchers",
        "3",
        "--notes",
        "20",
        "--tensions",
        "4",
        "--participants",
        "4",
        "--partnerships",
        "2",
        "--seed",
        "3",
        "-q",
    ]
    assert main(args) == 0
    assert "2 transcripts, frameworks [1, 2]" in capsys.readouterr().out
    assert main(args) == 1  # the folder now holds a study: refused, not overwritten
