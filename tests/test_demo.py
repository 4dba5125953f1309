"""The fictional demo study: complete, original, and free of real names in the turns."""

from __future__ import annotations

import re
import sqlite3
import tempfile
import tomllib
from contextlib import closing

import pytest

import coprod_nb.seed.demo
from coprod_nb import open_study
from coprod_nb.analysis import study_info, transcripts_table
from coprod_nb.seed.demo import demo_data_dir
from coprod_nb.seed.demo_cache import copy_demo
from coprod_nb.storage import Store
from tests.acting import as_, as_lead


def _real_names() -> list[str]:
    data = tomllib.loads((demo_data_dir() / "study.toml").read_text())
    names = []
    for section in ("researchers", "participants", "people"):
        for entry in data[section]:
            names.append(entry["name"])
            names += entry["name"].split()
    return names


def test_demo_has_five_partnerships_and_long_transcripts(demo):
    info = study_info(demo)
    assert info["partnerships"] == 5 and info["researchers"] == 3
    table = transcripts_table(demo)
    assert len(table) >= 5
    assert set(table["partnership"]) == {"LAHRP", "WVC", "TCP", "AVC", "CCPH"}
    assert (table["words"] >= 2500).all()
    assert {".vtt", ".docx", ".txt"} <= {"." + f for f in table["format"]}
    assert (table["participants"] != "").all() and (table["interviewers"] != "").all()


def test_no_real_demo_name_in_any_turn(demo):
    names = [n.casefold() for n in _real_names()]
    for tr in demo.transcripts():
        for turn in demo.turns(tr.id):
            label, body = turn.speaker.casefold(), turn.text.casefold()
            for name in names:
                pattern = rf"(?<!\w){re.escape(name)}(?!\w)"
                assert not re.search(pattern, label) and not re.search(pattern, body), (
                    tr.title,
                    turn.seq,
                    name,
                )
    # and the real names did occur in the source files (so the check means something)
    raw = (demo_data_dir() / "transcripts" / "tcp_2021-05-25.txt").read_text()
    assert "Ruth" in raw and "Bernadette" in raw


def test_every_speaker_is_matched(demo):
    assert demo.unmatched_speakers() == {}


# -- the cache of built demo studies (coprod_nb.seed.demo_cache) ---------------------------

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?")


def _dump(db) -> dict[str, list]:
    """Every row of every table, with the build's timestamps masked."""
    with closing(sqlite3.connect(db)) as con:
        tables = [
            t
            for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not t.startswith(("sqlite_", "turn_fts"))
        ]
        return {
            t: [
                tuple(_TIME.sub("T", v) if isinstance(v, str) else v for v in row)
                for row in con.execute(f'SELECT * FROM "{t}" ORDER BY 1')
            ]
            for t in tables
        }


def test_a_cached_demo_is_the_demo_built_afresh(joint_template, tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_DEMO_CACHE", str(tmp_path / "cache"))
    assert copy_demo(tmp_path / "copy", "joint")
    assert _dump(tmp_path / "copy" / "study.db") == _dump(joint_template / "study.db")
    copied = Store(tmp_path / "copy")
    assert [h.turn_id for h in copied.search("funding")]  # the search index came along
    copied.close()


def test_open_study_builds_each_stage_once(tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_DEMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("COPROD_STUDY", raising=False)
    monkeypatch.delenv("COPROD_DB", raising=False)
    first = open_study(stage="recall")
    assert first.is_demo
    as_(first, "Birch").add_note("Birch", "TCP", "only in this copy")

    def no_build(*args, **kwargs):
        raise AssertionError("the cached demo should have been copied")

    monkeypatch.setattr(coprod_nb.seed.demo, "build_demo", no_build)
    second = open_study(stage="recall")
    assert second.study_dir != first.study_dir
    assert len(as_(second, "Birch").notes()) == len(as_(first, "Birch").notes()) - 1
    assert not second.step_closed() and second.actor == first.actor
    for st in (first, second):
        st.close()
    monkeypatch.setenv("COPROD_DEMO_CACHE", "off")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    with pytest.raises(AssertionError, match="should have been copied"):
        open_study(stage="recall")  # no cache: built in place
    assert list((tmp_path / "temp").iterdir()) == []  # the failed build left nothing


def test_the_methods_trail_recorded_over_the_stored_v1_gives_f1_to_f4(joint_demo):
    """METHOD.md's three decisions, as a decision log, over the demo's frozen v1 in the
    store: exactly F1-F4 (names, poles, sub-themes, order) and the lineage of the method."""
    from datetime import date

    from coprod_nb.analysis import lineage_table
    from coprod_nb.domain.decisions import read_decision_log
    from tests.test_domain_decisions import METHOD_FINAL, METHOD_TRAIL, _as_method

    assert len(joint_demo.framework(1)) == 6
    ws = as_lead(joint_demo).add_workshop(date(2021, 11, 10))
    refs = as_lead(joint_demo).record_decisions(
        ws.id, read_decision_log(METHOD_TRAIL, source="method")
    )
    assert refs == ["D1", "D2", "D3"]
    assert _as_method(joint_demo.current_framework(ws.id)) == METHOD_FINAL
    paths = {(r.source, r.target): r.path for r in lineage_table(joint_demo, ws.id).itertuples()}
    assert paths == {
        ("T1", "T1"): "unchanged",
        ("T2", "T2"): "unchanged",
        ("T3", "T3"): "received T7 (folded)",
        ("T4", "T8"): "merged into T8",
        ("T5", "T8"): "merged into T8",
        ("T6", "T8"): "merged into T8",
        ("T7", "T3"): "added, folded into T3",
    }
    as_(joint_demo, "Alder").freeze_workshop_framework(ws.id)
    assert _as_method(joint_demo.framework(2)) == METHOD_FINAL
