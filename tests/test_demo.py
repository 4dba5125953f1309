"""The fictional demo study: complete, original, and free of real names in the turns."""

from __future__ import annotations

import re
import tomllib

from coprod_nb.analysis import study_info, transcripts_table
from coprod_nb.demo import demo_data_dir


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
