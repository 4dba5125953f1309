"""Tests for coprod_nb.ingest.readers: every format, encodings and bad files."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
import pytest

from coprod_nb.errors import InvalidInput
from coprod_nb.ingest import _decode
from coprod_nb.ingest.readers import (
    DEFAULT_SPEAKER_PATTERN,
    SUPPORTED_SUFFIXES,
    read_transcript,
)

DATA = Path(__file__).parent / "data" / "transcripts"


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def _raises(path: Path, *, speaker_pattern: str | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        read_transcript(path, speaker_pattern=speaker_pattern)
    assert path.name in str(info.value)
    assert info.value.file == path.name
    return info.value


# --- WebVTT -------------------------------------------------------------------------------


def test_teams_vtt_voice_tags_merged_into_turns():
    parsed = read_transcript(DATA / "teams.vtt")
    assert parsed.format == "vtt"
    assert parsed.speakers == ["Helen Marsh", "Tomasz Wilk"]
    assert [t.speaker for t in parsed.turns] == ["Helen Marsh", "Tomasz Wilk", "Helen Marsh"]
    first, second, third = parsed.turns
    # two consecutive cues of Helen Marsh become one turn, <c> tags removed
    assert first.text == "Thanks for joining, everyone. Shall we start with the garden project?"
    assert (first.start_ms, first.end_ms, first.place) == (1000, 7250, "line 4")
    # a two-line cue is one line of text; entities are decoded
    assert second.text == "Yes. The planting day went well, but the tools & seeds arrived late."
    assert (second.start_ms, second.end_ms, second.place) == (8000, 11000, "line 12")
    assert third.place == "line 17"
    assert parsed.warnings == []


def test_zoom_vtt_prefix_and_speakerless_cue_continues():
    parsed = read_transcript(DATA / "zoom.vtt")
    assert [t.speaker for t in parsed.turns] == ["Amara Okafor", "Rhys Lloyd", "Amara Okafor"]
    rhys = parsed.turns[1]
    assert rhys.text == "Loud and clear. We can begin whenever you like."
    assert (rhys.start_ms, rhys.end_ms) == (3200, 9000)
    assert parsed.turns[2].text == "Then let us talk about the library hours."


def test_vtt_first_cue_without_speaker_is_unknown(tmp_path):
    path = _write(
        tmp_path,
        "meeting.vtt",
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n(music)\n\n"
        "00:00:02.500 --> 00:00:04.000\nRhys Lloyd: Welcome back.\n",
    )
    parsed = read_transcript(path)
    assert [(t.speaker, t.text) for t in parsed.turns] == [
        ("Unknown", "(music)"),
        ("Rhys Lloyd", "Welcome back."),
    ]
    assert len(parsed.warnings) == 1
    assert "line 3" in parsed.warnings[0] and "Unknown" in parsed.warnings[0]


def test_vtt_cue_with_two_voices_gives_two_turns(tmp_path):
    path = _write(
        tmp_path,
        "two.vtt",
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Amara Okafor>Ready?</v>\n"
        "<v.loud Rhys Lloyd>Ready.</v>\n",
    )
    parsed = read_transcript(path)
    assert [(t.speaker, t.text) for t in parsed.turns] == [
        ("Amara Okafor", "Ready?"),
        ("Rhys Lloyd", "Ready."),
    ]


def test_vtt_suffix_is_case_insensitive(tmp_path):
    path = tmp_path / "TEAMS.VTT"
    path.write_bytes((DATA / "teams.vtt").read_bytes())
    assert len(read_transcript(path).turns) == 3


# --- SRT ----------------------------------------------------------------------------------


def test_srt_prefixes_merging_and_times():
    parsed = read_transcript(DATA / "interview.srt")
    assert parsed.format == "srt"
    assert [(t.speaker, t.text) for t in parsed.turns] == [
        ("Helen Marsh", "What did the residents say about the new bus route?"),
        # ">> Name:" prefix, <i> removed, the next cue names nobody and is merged
        ("Tomasz Wilk", "Mostly positive. The early bus matters most."),
        # "[Name]" prefix
        ("Helen Marsh", "Good to hear."),
    ]
    tomasz = parsed.turns[1]
    assert (tomasz.start_ms, tomasz.end_ms, tomasz.place) == (5500, 10000, "line 7")
    assert parsed.turns[0].place == "line 2"
    assert parsed.warnings == []


def test_srt_sound_tag_is_not_a_speaker(tmp_path):
    path = _write(
        tmp_path,
        "sound.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nHelen Marsh: Hello.\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\n[Laughter] Sorry.\n",
    )
    parsed = read_transcript(path)
    assert [(t.speaker, t.text) for t in parsed.turns] == [
        ("Helen Marsh", "Hello. [Laughter] Sorry.")
    ]


# --- TXT ----------------------------------------------------------------------------------


def test_txt_default_pattern():
    parsed = read_transcript(DATA / "interview.txt")
    assert parsed.format == "txt"
    assert [t.speaker for t in parsed.turns] == [
        "Helen Marsh",
        "Tomasz Wilk",
        "Helen Marsh",
        "Tomasz Wilk",
    ]
    # continuation lines and a paragraph after a blank line join the last turn
    assert parsed.turns[1].text == (
        "Better than we hoped. We had twelve volunteers on most Saturdays. "
        "Some of them came from the school next door."
    )
    # a time and a URL inside the text do not start turns
    assert parsed.turns[3].text.startswith("We met at 10:30 every week, see http://")
    assert [t.place for t in parsed.turns] == ["line 4", "line 5", "line 10", "line 11"]
    assert all(t.start_ms is None for t in parsed.turns)
    # the title and date lines are skipped with a warning
    assert len(parsed.warnings) == 1 and "line 1" in parsed.warnings[0]


def test_txt_custom_pattern():
    parsed = read_transcript(
        DATA / "custom.txt", speaker_pattern=r"^(?P<speaker>[A-Z]+) - (?P<text>.*)$"
    )
    assert [(t.speaker, t.text) for t in parsed.turns] == [
        ("HELEN", "Where do you meet?"),
        ("TOMASZ", "In the old chapel hall. It has a kitchen."),
        ("HELEN", "How many come?"),
    ]
    # the default pattern finds no turn in this layout
    with pytest.raises(InvalidInput):
        read_transcript(DATA / "custom.txt")


def test_txt_otter_headers():
    parsed = read_transcript(DATA / "otter.txt")
    assert [(t.speaker, t.start_ms, t.place) for t in parsed.turns] == [
        ("Amara Okafor", 3_000, "line 3"),
        ("Rhys Lloyd", 7_000, "line 6"),
        ("Amara Okafor", 3_735_000, "line 10"),
    ]
    assert (
        parsed.turns[1].text
        == "Yes. I have the survey results here. Most people want later opening."
    )


def test_txt_metadata_lines_and_whitespace(tmp_path):
    path = _write(
        tmp_path,
        "notes.txt",
        "Date: 4 June 2024\n  Helen Marsh :   Hello,\t\tthere.  \nSiân Pryce:\n   Hi   all.\n",
    )
    parsed = read_transcript(path)
    assert [(t.speaker, t.text) for t in parsed.turns] == [
        ("Helen Marsh", "Hello, there."),
        ("Siân Pryce", "Hi all."),
    ]


def test_default_speaker_pattern_rejects_times_and_urls():
    pattern = re.compile(DEFAULT_SPEAKER_PATTERN)
    match = pattern.match("Dr. Helen Marsh: yes")
    assert match and match.group("speaker") == "Dr. Helen Marsh" and match.group("text") == "yes"
    for line in ("10:30 we started", "http://example.org", "1234: text", "a" * 61 + ": x"):
        assert pattern.match(line) is None, line
    assert SUPPORTED_SUFFIXES == (".vtt", ".srt", ".txt", ".docx")


# --- encodings ----------------------------------------------------------------------------

DIALOGUE = "Siân Pryce: Le café est prêt.\r\nHelen Marsh: Diolch, Siân.\r\n"


@pytest.mark.parametrize(
    ("codec", "bom", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
    ],
)
def test_encodings(tmp_path, codec, bom, expected):
    path = _write(tmp_path, "cafe.txt", bom + DIALOGUE.encode(codec))
    parsed = read_transcript(path)
    assert parsed.encoding == expected
    assert parsed.speakers == ["Siân Pryce", "Helen Marsh"]
    assert parsed.turns[0].text == "Le café est prêt."
    assert parsed.turns[1].text == "Diolch, Siân."


def test_windows_text_is_read_only_with_its_encoding_given(tmp_path):
    path = _write(tmp_path, "cafe.txt", DIALOGUE.encode("cp1252"))
    with pytest.raises(InvalidInput) as err:
        read_transcript(path)  # not guessed (charset guessers once read this as Cyrillic)
    assert err.value.place == "line 1" and "--encoding" in err.value.problem
    parsed = read_transcript(path, encoding="cp1252")
    assert parsed.encoding == "cp1252"
    assert parsed.speakers == ["Siân Pryce", "Helen Marsh"]
    assert parsed.turns[0].text == "Le café est prêt."
    assert parsed.turns[1].text == "Diolch, Siân."


def test_encoding_of_subtitles(tmp_path):
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Siân Pryce>Un café ?</v>\n"
    path = _write(tmp_path, "cafe.vtt", b"\xff\xfe" + vtt.encode("utf-16-le"))
    parsed = read_transcript(path)
    assert (parsed.encoding, parsed.turns[0].speaker, parsed.turns[0].text) == (
        "utf-16-le",
        "Siân Pryce",
        "Un café ?",
    )


# --- Word ---------------------------------------------------------------------------------


def _docx(tmp_path: Path, build) -> Path:
    document = docx.Document()
    build(document)
    path = tmp_path / "interview.docx"
    document.save(path)
    return path


def test_docx_table(tmp_path):
    def build(document):
        document.add_paragraph("Garden interview")
        table = document.add_table(rows=5, cols=3)
        rows = [
            ("Time", "Speaker", "Transcript"),
            ("00:01:23", "Helen Marsh", "How was the winter?"),
            ("1:30", "Tomasz Wilk", "  Cold,   but\nquiet. "),
            ("", "", "We mended the shed."),
            ("01:45.5", "Helen Marsh", "Good."),
        ]
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                table.cell(r, c).text = value

    parsed = read_transcript(_docx(tmp_path, build))
    assert parsed.format == "docx"
    assert [(t.speaker, t.text, t.start_ms, t.place) for t in parsed.turns] == [
        ("Helen Marsh", "How was the winter?", 83_000, "table 1, row 2"),
        # a row without speaker continues the turn above
        ("Tomasz Wilk", "Cold, but quiet. We mended the shed.", 90_000, "table 1, row 3"),
        ("Helen Marsh", "Good.", 105_500, "table 1, row 5"),
    ]


def test_docx_paragraphs(tmp_path):
    def build(document):
        document.add_paragraph("Library interview, fictional")
        document.add_paragraph("")
        document.add_paragraph("Amara Okafor: When do you visit?")
        document.add_paragraph("Rhys Lloyd: On Saturdays.")
        document.add_paragraph("")
        document.add_paragraph("Sometimes after work.")

    parsed = read_transcript(_docx(tmp_path, build))
    assert [(t.speaker, t.text, t.place) for t in parsed.turns] == [
        ("Amara Okafor", "When do you visit?", "paragraph 3"),
        ("Rhys Lloyd", "On Saturdays. Sometimes after work.", "paragraph 4"),
    ]
    assert parsed.warnings and "paragraph 1" in parsed.warnings[0]


def test_docx_teams_word_style(tmp_path):
    def build(document):
        document.add_paragraph("Weekly meeting transcript")
        document.add_paragraph("Amara Okafor   0:03")
        document.add_paragraph("Good morning.")
        document.add_paragraph("Rhys Lloyd\t1:02:03")
        document.add_paragraph("Morning.")
        document.add_paragraph("Let us begin.")

    parsed = read_transcript(_docx(tmp_path, build))
    assert [(t.speaker, t.text, t.start_ms, t.place) for t in parsed.turns] == [
        ("Amara Okafor", "Good morning.", 3_000, "paragraph 2"),
        ("Rhys Lloyd", "Morning. Let us begin.", 3_723_000, "paragraph 4"),
    ]


def test_docx_without_turns(tmp_path):
    path = _docx(tmp_path, lambda d: d.add_paragraph("Only a title, no dialogue"))
    assert "no speaker turns" in _raises(path).problem


def test_docx_that_is_a_renamed_text_file(tmp_path):
    path = _write(tmp_path, "renamed.docx", "Helen Marsh: hello\n")
    assert "not a Word .docx file" in _raises(path).problem


def test_docx_that_is_another_zip(tmp_path):
    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "Helen Marsh: hello")
    assert "not a Word .docx file" in _raises(path).problem


# --- bad files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.txt", b""),
        ("blank.txt", b"  \r\n\n\t "),
        ("empty.vtt", b""),
        ("bom-only.srt", b"\xff\xfe"),
    ],
)
def test_empty_file(tmp_path, name, content):
    assert _raises(_write(tmp_path, name, content)).problem == "the file is empty"


@pytest.mark.parametrize("content", [b"Helen\x00Marsh\x01\x02", b"PK\x03\x04\x14\x00\x00"])
def test_binary_file(tmp_path, content):
    assert _raises(_write(tmp_path, "data.txt", content)).problem.startswith("not a text file")


@pytest.mark.parametrize("name", ["interview.pdf", "interview.doc", "interview"])
def test_unsupported_suffix(tmp_path, name):
    error = _raises(_write(tmp_path, name, "Helen Marsh: hi\n"))
    assert all(s in error.problem for s in SUPPORTED_SUFFIXES)


def test_missing_file(tmp_path):
    assert "does not exist" in _raises(tmp_path / "nowhere.txt").problem


def test_vtt_without_header(tmp_path):
    path = _write(tmp_path, "nohead.vtt", "00:00:01.000 --> 00:00:02.000\nHelen Marsh: hi\n")
    error = _raises(path)
    assert error.place == "line 1"
    assert "WEBVTT" in error.problem
    assert str(error).startswith("nohead.vtt, line 1: missing the WEBVTT header")


@pytest.mark.parametrize(
    "timing",
    [
        "00:00:03,000 --> 00:00:04.000",  # SRT comma
        "00:00:03.000 00:00:04.000",  # no arrow
        "00:00:03.000 --> 00:00:75.000",  # seconds out of range
    ],
)
def test_vtt_bad_timing_line_names_its_line(tmp_path, timing):
    path = _write(
        tmp_path,
        "bad.vtt",
        f"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nHelen Marsh: hi\n\n2\n{timing}\nRhys: yo\n",
    )
    error = _raises(path)
    assert error.place == "line 8"
    assert "bad.vtt, line 8: bad cue timing line" in str(error)


def test_vtt_cues_out_of_order(tmp_path):
    path = _write(
        tmp_path,
        "order.vtt",
        "WEBVTT\n\n00:00:05.000 --> 00:00:06.000\nHelen Marsh: later\n\n"
        "00:00:01.000 --> 00:00:02.000\nRhys Lloyd: earlier\n",
    )
    error = _raises(path)
    assert error.place == "line 6"
    assert "cue times out of order" in error.problem


def test_srt_cues_out_of_order(tmp_path):
    path = _write(
        tmp_path,
        "order.srt",
        "1\n00:00:05,000 --> 00:00:06,000\nHelen Marsh: later\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\nRhys Lloyd: earlier\n",
    )
    error = _raises(path)
    assert (error.place, "cue times out of order" in error.problem) == ("line 6", True)


def test_srt_bad_block_names_its_line(tmp_path):
    path = _write(
        tmp_path,
        "bad.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nHelen Marsh: hi\n\n"
        "2\n00:00:03,000 -> 00:00:04,000\nRhys Lloyd: yo\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\nHelen Marsh: ok\n",
    )
    error = _raises(path)
    assert error.place == "line 6"
    assert "00:00:03,000 -> 00:00:04,000" in error.problem


def test_txt_without_speakers(tmp_path):
    path = _write(tmp_path, "prose.txt", "We talked about the garden.\nIt was a good day.\n")
    error = _raises(path)
    assert "no speaker turns found" in error.problem
    assert "Helen Marsh: " in error.problem  # says what a turn line looks like


@pytest.mark.parametrize(
    ("pattern", "words"),
    [("(?P<speaker>[A-Z]+", "not a valid regular expression"), (r"(\w+): (.*)", "speaker, text")],
)
def test_invalid_custom_pattern(pattern, words):
    error = _raises(DATA / "custom.txt", speaker_pattern=pattern)
    assert words in error.problem


def test_line_too_long(tmp_path, monkeypatch):
    monkeypatch.setattr(_decode, "MAX_LINE_CHARS", 50)
    path = _write(tmp_path, "long.txt", "Helen Marsh: short\nRhys Lloyd: " + "la " * 30 + "\n")
    error = _raises(path)
    assert error.place == "line 2"


def test_file_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(_decode, "MAX_FILE_BYTES", 10)
    path = _write(tmp_path, "big.srt", "1\n00:00:01,000 --> 00:00:02,000\nHelen Marsh: hi\n")
    assert "MB" in _raises(path).problem


def test_utf8_with_a_stray_windows_byte_names_the_line(tmp_path):
    data = DIALOGUE.replace("\r\n", "\n").encode("utf-8") + b"Helen Marsh: It wasn\x92t.\n"
    path = _write(tmp_path, "stray.txt", data)
    with pytest.raises(InvalidInput) as err:
        read_transcript(path)
    assert (err.value.file, err.value.place) == ("stray.txt", "line 3")
    assert "0x92" in err.value.problem and "UTF-8" in err.value.problem


def test_windows_text_with_a_lookalike_utf8_pair_reads_as_cp1252_when_given(tmp_path):
    # "Ã©" in cp1252 is the UTF-8 pair for "é"; one such pair among many cp1252 accents
    # is still a Windows file, not UTF-8 with stray bytes.
    text = "Siân Pryce: Le café est prêt, très prêt, déjà. Ã©\nHelen Marsh: Diolch.\n"
    path = _write(tmp_path, "win.txt", text.encode("cp1252"))
    parsed = read_transcript(path, encoding="cp1252")
    assert parsed.encoding == "cp1252"
    assert parsed.turns[0].text.startswith("Le café est prêt")
