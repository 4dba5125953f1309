"""REFI-QDA exchange: the export validates and leaks nothing, round trips, untrusted files."""

from __future__ import annotations

import hashlib
import json
import re
import resource
import time
import tomllib
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

import coprod_nb.exchange
from coprod_nb.domain import RawTurn
from coprod_nb.errors import DuplicateSource, Forbidden, InvalidInput, NotFound, OutOfOrder
from coprod_nb.exchange import refi_qda
from coprod_nb.exchange.refi_qda import export_qdpx, import_qdpx
from coprod_nb.seed.demo import demo_data_dir
from coprod_nb.storage.integrity import check_study
from tests.acting import all_excerpts, as_

ROOT = Path(__file__).resolve().parents[1]
NS = {"q": "urn:QDA-XML:project:1.0"}
SEL = "q:Sources/q:TextSource/q:PlainTextSelection"  # notes hold selections too
XSD = Path(coprod_nb.exchange.__file__).parent / "schemas" / "Project.xsd"


def _project(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read("project.qde"))


def _code_paths(codes: list[dict]) -> set[tuple[str, ...]]:
    """Every code as the tuple of names from its root."""
    by_guid = {c["guid"]: c for c in codes}

    def path(c: dict) -> tuple[str, ...]:
        return (*path(by_guid[c["parent"]]), c["name"]) if c["parent"] else (c["name"],)

    return {path(c) for c in codes}


def _xml_codes(root: etree._Element) -> list[dict]:
    out = []
    for el in root.iterfind(".//q:CodeBook//q:Code", NS):
        parent = el.getparent()
        out.append(
            {
                "guid": el.get("guid"),
                "name": el.get("name"),
                "parent": parent.get("guid") if parent.tag.endswith("}Code") else None,
            }
        )
    return out


def _empty(store) -> bool:
    return not (
        store.transcripts() or store.researchers() or store.partnerships() or store.excerpts()
    )


# -- export -----------------------------------------------------------------------------------


def test_export_of_the_demo_validates_against_the_schema(demo, tmp_path):
    out = export_qdpx(demo, tmp_path / "demo.qdpx")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    root = _project(out)
    assert schema.validate(root), schema.error_log
    assert root.get("name") == demo.study().name and root.get("origin") == "coprod_nb"


def test_export_is_deterministic(demo, tmp_path):
    a = export_qdpx(demo, tmp_path / "a.qdpx")
    b = export_qdpx(demo, tmp_path / "b.qdpx")
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        assert za.read("project.qde") == zb.read("project.qde")
    assert a.read_bytes() == b.read_bytes()


def test_export_holds_the_study(demo, tmp_path):
    out = export_qdpx(demo, tmp_path / "demo.qdpx")
    root = _project(out)
    zf = zipfile.ZipFile(out)

    sources = root.findall("q:Sources/q:TextSource", NS)
    transcripts = {t.title: t for t in demo.transcripts()}
    assert sorted(s.get("name") for s in sources) == sorted(transcripts)
    selections = root.findall(SEL, NS)
    assert len(selections) == len(demo.excerpts())
    for src in sources:
        path = src.get("plainTextPath")
        assert path == f"internal://{src.get('guid')}.txt"
        text = zf.read("Sources/" + path.removeprefix("internal://")).decode("utf-8")
        tr = transcripts[src.get("name")]
        assert text == tr.text
        spans = Counter((e.start, e.end, e.text) for e in demo.excerpts(tr.id))
        got = Counter(
            (int(s.get("startPosition")), int(s.get("endPosition")), None)
            for s in src.findall("q:PlainTextSelection", NS)
        )
        assert Counter({(a, b, text[a:b]): n for (a, b, _), n in got.items()}) == spans

    names = {c["name"] for c in _xml_codes(root)}
    # the code book holds the board as it is (the demo's workshop merged T4-T6 into T8
    # in framework v2 only: T8 is not on the board, and T4-T6 still are)
    board = demo.tensions()
    for t in board:
        assert f"{t.code}: {t.name}" in names
        assert set(t.subthemes) <= names
    assert {"Note categories", *demo.note_categories()} <= names
    paths = _code_paths(_xml_codes(root))
    assert ("Note categories", "barrier") in paths
    assert ("Tensions (working set)", "T4: Research vs non-research activities") in paths
    assert not any(p[-1].startswith("T8: ") for p in paths)
    codes = {c.get("name"): c for c in root.iterfind(".//q:CodeBook//q:Code", NS)}
    t1 = board[0]
    assert (
        codes[f"{t1.code}: {t1.name}"]
        .findtext("q:Description", None, NS)
        .startswith(
            f"Pole A: {t1.pole_a}\nPole B: {t1.pole_b}\n"
            f"Status: {t1.status}\nProposer: {t1.proposer}"
        )
    )
    # each frozen version is a Set holding it exactly: T8's origin, v1's links, evidence
    # as the GUIDs of this file's notes and selections
    sets = {
        s.get("name"): json.loads(s.findtext("q:Description", None, NS))
        for s in root.iterfind("q:Sets/q:Set", NS)
    }
    t8 = next(t for t in sets["Framework v2"]["tensions"] if t["code"] == "T8")
    assert t8["origin"] == ["T4", "T5", "T6"]
    assert sets["Framework v1"]["links"] == demo.frozen_links(1)
    selections = {s.get("guid") for s in root.iterfind(SEL, NS)}
    notes = {n.get("guid") for n in root.iterfind("q:Notes/q:Note", NS)}
    frozen = demo.framework(2).get("T8").evidence
    assert set(t8["evidence"]["excerpts"]) <= selections
    assert len(t8["evidence"]["excerpts"]) == len(frozen["excerpts"])
    assert set(t8["evidence"]["notes"]) <= notes
    assert len(t8["evidence"]["notes"]) == len(frozen["notes"])
    linked = sets["Tension links"]["links"]
    assert [(k["source"], k["kind"], k["target"]) for k in linked] == demo.tension_links()

    users = root.findall("q:Users/q:User", NS)
    assert sorted(u.get("name") for u in users) == sorted(r.name for r in demo.researchers())
    assert all(u.get("id") is None for u in users)  # logins stay home

    variables = {
        v.get("guid"): (v.get("name"), v.get("typeOfVariable"))
        for v in root.findall("q:Variables/q:Variable", NS)
    }
    assert variables and ("members", "Integer") in variables.values()
    cases = {c.get("name"): c for c in root.findall("q:Cases/q:Case", NS)}
    assert sorted(cases) == sorted(p.short for p in demo.partnerships())
    by_guid = {s.get("guid"): s.get("name") for s in sources}
    for p in demo.partnerships():
        case = cases[p.short]
        values = {}
        for vv in case.findall("q:VariableValue", NS):
            name, kind = variables[vv.find("q:VariableRef", NS).get("targetGUID")]
            value = vv[1].text
            values[name] = int(value) if kind == "Integer" else value
        assert values == p.attributes
        refs = {by_guid[r.get("targetGUID")] for r in case.findall("q:SourceRef", NS)}
        assert refs == {t.title for t in demo.transcripts() if t.partnership_id == p.id}

    lead = next(r for r in demo.researchers() if r.lead)
    notes = root.findall("q:Notes/q:Note", NS)
    assert len(notes) == len(as_(demo, lead.name).notes())
    guid_of = {u.get("name"): u.get("guid") for u in users}
    authors = Counter(n.get("creatingUser") for n in notes)
    rid = {r.id: r.name for r in demo.researchers()}
    assert authors == Counter(guid_of[rid[n.researcher_id]] for n in as_(demo, lead.name).notes())
    note_guids = {n.get("guid") for n in notes}
    refs = {r.get("targetGUID") for r in root.iterfind(SEL + "/q:NoteRef", NS)}
    assert refs and refs <= note_guids
    # Selections are coded with the tensions whose evidence holds their excerpt.
    coded = root.findall(SEL + "/q:Coding/q:CodeRef", NS)
    n_evidence = sum(len(t.evidence.get("excerpts", ())) for t in demo.framework().tensions)
    tension_guids = {c["guid"] for c in _xml_codes(root) if re.match(r"T\d+: ", c["name"] or "")}
    assert sum(r.get("targetGUID") in tension_guids for r in coded) == n_evidence
    assert root.find("q:Description", NS).text == demo.study().description


def test_export_leaks_no_real_name(demo, tmp_path):
    config = tomllib.loads((demo_data_dir() / "study.toml").read_text())
    names = [p["name"] for k in ("researchers", "participants", "people") for p in config[k]]
    assert len(names) >= 10
    words = {part for n in names for part in n.split() if len(part) > 2}
    out = export_qdpx(demo, tmp_path / "demo.qdpx", real_names=True)
    with zipfile.ZipFile(out) as zf:
        for member in zf.namelist():
            text = zf.read(member).decode("utf-8")
            for name in names:
                assert name.casefold() not in text.casefold(), (member, name)
            for word in words:
                assert not re.search(rf"\b{re.escape(word)}\b", text), (member, word)
    assert _project(out).find("q:Description", NS).text.startswith("REAL NAMES")


def test_export_while_step_1_is_open_shows_only_the_viewers_notes(recall_demo, tmp_path):
    st = recall_demo
    assert st.step_closure() is None
    for viewer in ("Alder", "Birch"):
        who = viewer
        root = _project(export_qdpx(as_(st, viewer), tmp_path / f"{who}.qdpx", viewer=viewer))
        users = {u.get("name"): u.get("guid") for u in root.iterfind("q:Users/q:User", NS)}
        notes = root.findall("q:Notes/q:Note", NS)
        assert len(notes) == len(as_(st, who).notes()) > 0
        assert {n.get("creatingUser") for n in notes} == {users[who]}
        assert len(root.findall(SEL, NS)) == len(as_(st, who).excerpts())
        assert len(as_(st, who).excerpts()) < len(all_excerpts(st))


def test_export_before_any_framework_codes_the_working_set(store, tmp_path):
    tr = store.add_transcript(
        [RawTurn("Ash", "We shared the budget."), RawTurn("Oak", "Not at first.")],
        title="one",
        source_name="one.txt",
        source_format="txt",
        content_hash="h1",
    )
    ex = store.excerpt_of_quote(tr.id, "shared the budget")
    store.add_tension("Power", "held", "shared", subthemes=["money"])
    store.attach_evidence("T1", excerpts=[ex.id])
    root = _project(export_qdpx(store, tmp_path / "w.qdpx"))
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(root)
    paths = _code_paths(_xml_codes(root))
    assert ("Tensions (working set)", "T1: Power", "money") in paths
    (sel,) = root.findall(SEL, NS)
    tension = next(c for c in _xml_codes(root) if c["name"] == "T1: Power")
    assert [r.get("targetGUID") for r in sel.iterfind("q:Coding/q:CodeRef", NS)] == [
        tension["guid"]
    ]
    assert root.find("q:Users", NS) is None and root.find("q:Notes", NS) is None


# -- frozen versions brought by an import ------------------------------------------------------


def test_restore_framework_refuses_and_writes_nothing(second_study):
    """The re-freeze of an import is the lead's, after step 1, and checks what it writes."""
    st = second_study("recall", actor="rowan")
    note = st.notes()[0]
    ok = [
        {
            "code": "H9",
            "name": "Pace",
            "pole_a": "slow",
            "pole_b": "fast",
            "status": "agreed",
            "origin": ["H1", "H2"],
            "evidence": {"notes": [note.id], "excerpts": []},
        },
        {"links": [{"source": "H9", "kind": "relates to", "target": "H1"}]},
    ]
    with pytest.raises(OutOfOrder, match="step 1"):
        st.restore_framework(ok, "v1")
    st.close_recall()
    with pytest.raises(Forbidden, match="only the study lead"):
        as_(st, "quill").restore_framework(ok, "v1")
    bad_note = [{**ok[0], "evidence": {"notes": [10**6]}}]
    with pytest.raises(NotFound, match="no note 1000000"):
        st.restore_framework(bad_note)
    with pytest.raises(InvalidInput, match="H9 used twice"):
        st.restore_framework([ok[0], ok[0]])
    with pytest.raises(InvalidInput, match="status"):
        st.restore_framework([{**ok[0], "status": "maybe"}])
    assert st.framework_versions() == []
    fv = st.restore_framework(ok, "v1: brought in")
    assert (fv.version, fv.label, fv.frozen_by, fv.tensions) == (1, "v1: brought in", "Rowan", ok)
    assert st.framework(1).get("H9").origin == ("H1", "H2")
    assert st.frozen_links(1) == ok[1]["links"]
    assert check_study(st.study_dir) == []


def test_an_export_without_statuses_or_frozen_evidence_still_imports(
    second_study, store, db_url, tmp_path
):
    """A file of the earlier convention (poles only in a tension's code, Sets without
    evidence or links): the tensions come in as candidates and each version is frozen
    again with its tensions' evidence on the board."""
    st = second_study("workshop", actor="rowan")
    out = export_qdpx(st, tmp_path / "now.qdpx")
    with zipfile.ZipFile(out) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    root = etree.fromstring(members["project.qde"])
    for desc in root.iterfind(".//q:Code/q:Description", NS):
        desc.text = re.sub(r"\nStatus: [^\n]*|\nProposer: [^\n]*", "", desc.text)
    for desc in root.iterfind("q:Sets/q:Set/q:Description", NS):
        meta = json.loads(desc.text)
        meta.pop("links", None)
        for t in meta.get("tensions", []):
            t.pop("evidence", None)
        desc.text = json.dumps(meta)
    members["project.qde"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    old = tmp_path / "old.qdpx"
    with zipfile.ZipFile(old, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    import_qdpx(store, old, lead="Rowan")
    assert {t.status for t in store.tensions()} == {"candidate"}
    refi_qda.finish_qdpx_import(as_(store, "rowan"))
    board = {t.code: len(store.evidence(t.code)) for t in store.tensions()}
    assert board == {t.code: len(st.evidence(t.code)) for t in st.tensions()}
    versions = store.framework_versions()
    assert [v.label for v in versions] == [v.label for v in st.framework_versions()]
    for t in store.framework(1).tensions:
        assert len(t.evidence["notes"]) + len(t.evidence["excerpts"]) == board[t.code]
    assert check_study(store.study_dir, db_url) == []
    refi_qda.finish_qdpx_import(as_(store, "rowan"))  # again (close-recall): nothing more
    assert len(store.framework_versions()) == len(versions)


# -- round trip -------------------------------------------------------------------------------


def test_round_trip_into_an_empty_study(demo, store, tmp_path):
    out = export_qdpx(demo, tmp_path / "demo.qdpx")
    summary = import_qdpx(store, out)
    # Reported, not silent: the frozen versions are frozen again, and step 1 closed, by the
    # lead (named at import: the first note's author) when they finish the import.
    lead_name = summary.lead
    assert lead_name in {r.name for r in demo.researchers()}
    assert summary.warnings == [
        "2 framework version(s) (Framework v1, Framework v2) are frozen again when the lead "
        "finishes the import (coprod-nb close-recall), exactly as they were (origins, "
        "links, evidence); until then the board holds the exported working tensions",
        f"step 1 was closed in the exported study; {lead_name} must close it here "
        "(coprod-nb close-recall) so the imported notes are visible to the team",
    ]

    assert sorted(t.text for t in store.transcripts()) == sorted(t.text for t in demo.transcripts())
    assert {t.source_format for t in store.transcripts()} == {"qdpx"}
    assert {(t.title, t.date) for t in store.transcripts()} == {
        (t.title, t.date) for t in demo.transcripts()
    }

    def spans(st):
        texts = {t.id: t.text for t in st.transcripts()}
        return Counter((texts[e.transcript_id], e.start, e.end) for e in all_excerpts(st))

    assert spans(store) == spans(demo)
    assert summary.selections == len(demo.excerpts())

    root = _project(out)
    assert _code_paths(summary.codes) == _code_paths(_xml_codes(root))
    assert len(summary.codes) == len(_xml_codes(root))

    # The codings land on the same spans.
    names = {c["guid"]: c["name"] for c in summary.codes}
    excerpt = {e.id: e for e in all_excerpts(store)}
    texts = {t.id: t.text for t in store.transcripts()}
    imported = Counter()
    for c in summary.codings:
        ex = excerpt[c["excerpt_id"]]
        imported[(texts[ex.transcript_id], ex.start, names[c["code_guid"]])] += 1
    source_text = {}
    with zipfile.ZipFile(out) as zf:
        for s in root.iterfind("q:Sources/q:TextSource", NS):
            member = "Sources/" + s.get("plainTextPath").removeprefix("internal://")
            source_text[s.get("guid")] = zf.read(member).decode()
    xml_names = {c["guid"]: c["name"] for c in _xml_codes(root)}
    exported = Counter()
    for sel in root.iterfind(SEL, NS):
        text = source_text[sel.getparent().get("guid")]
        for ref in sel.iterfind("q:Coding/q:CodeRef", NS):
            exported[(text, int(sel.get("startPosition")), xml_names[ref.get("targetGUID")])] += 1
    assert imported == exported

    assert {p.short: (p.name, p.attributes) for p in store.partnerships()} == {
        p.short: (p.name, p.attributes) for p in demo.partnerships()
    }
    assert [r.name for r in store.researchers()] == [r.name for r in demo.researchers()]
    new_short = {p.id: p.short for p in store.partnerships()}
    old_short = {p.id: p.short for p in demo.partnerships()}
    assert {t.title: new_short.get(t.partnership_id) for t in store.transcripts()} == {
        t.title: old_short.get(t.partnership_id) for t in demo.transcripts()
    }

    # Our own tension codes come back as the board's tensions (status and proposer
    # included) with their excerpts as evidence; notes follow once step 1 is closed.
    got = {t.code: t for t in store.tensions()}
    assert set(got) == {t.code for t in demo.tensions()}
    fields = ("name", "pole_a", "pole_b", "description", "subthemes", "status", "proposer")
    for t in demo.tensions():
        row = got[t.code]
        assert [getattr(row, f) for f in fields] == [getattr(t, f) for f in fields]
        excerpts = {e.excerpt_id for e in demo.evidence(t.code) if e.excerpt_id}
        assert len(store.evidence(t.code)) == len(excerpts)
    assert store.tension_links() == demo.tension_links()
    assert store.framework_versions() == []  # frozen again when the lead finishes

    # Notes: stored for their authors, on their partnership, anchored to the same spans.
    lead = next(r.name for r in demo.researchers() if r.lead)
    originals = as_(demo, lead).notes()
    assert sum(1 for n in summary.notes if n["note_id"]) == len(originals)
    mine = Counter()
    for r in store.researchers():
        mine.update((n.text, n.category, n.kind) for n in as_(store, r.name).notes(r.name))
    assert mine == Counter((n.text, n.category, n.kind) for n in originals)
    assert store.history("study")[-1].actor == store.actor  # the person working

    # The imported study exports again, valid.
    again = _project(export_qdpx(store, tmp_path / "again.qdpx"))
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(again)


# -- another tool's project ----------------------------------------------------------------------

G = "{:08x}-0000-4000-8000-{:012x}".format
INTERVIEW = (
    "Interviewer: How did the partnership start?\r\n"
    "Respondent:   Slowly, over cups of tea with Nadia Wren.  \r\n"
    "\r\n"
    "Then the money came.\r\n"
)
FOCUS = "\ufeffFacilitator: Welcome, everyone.\nP1: Thanks for having us.\n"
FIELD = "A morning at the community centre. Residents spoke first."


def _span(text: str, quote: str, start_at: str | None = None) -> tuple[int, int]:
    text = text.removeprefix("\ufeff")
    a = text.index(start_at or quote)
    b = text.index(quote) + len(quote) if start_at is None else text.index(quote, a) + len(quote)
    return a, b


def _other_tool_project(*, extra_selection: str = "", extra_note: str = "") -> str:
    tea = _span(INTERVIEW, "cups of tea")
    money = _span(INTERVIEW, "Then the money came")
    across = _span(INTERVIEW, "came", start_at="Slowly")
    nadia = _span(INTERVIEW, "Nadia Wren")
    thanks = _span(FOCUS, "Thanks for having us")
    residents = _span(FIELD, "Residents spoke first")
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Other tool" origin="SomeQDA 2.1">
  <Users><User guid="{{{G(1, 1).upper()}}}" name="Robin"/></Users>
  <CodeBook><Codes>
    <Code guid="{G(2, 1)}" name="Trust" isCodable="true">
      <Description>How trust was built</Description>
      <Code guid="{G(2, 2)}" name="Early trust" isCodable="true">
        <Code guid="{G(2, 3)}" name="Cups of tea" isCodable="true" color="#AA0000"/>
      </Code>
    </Code>
    <Code guid="{G(2, 4)}" name="Barriers" isCodable="false"/>
  </Codes></CodeBook>
  <Variables>
    <Variable guid="{G(3, 1)}" name="region" typeOfVariable="Text"/>
    <Variable guid="{G(3, 2)}" name="members" typeOfVariable="Integer"/>
    <Variable guid="{G(3, 3)}" name="active" typeOfVariable="Boolean"/>
    <Variable guid="{G(3, 4)}" name="budget" typeOfVariable="Float"/>
  </Variables>
  <Cases>
    <Case guid="{G(4, 1)}" name="Northfield Health Alliance">
      <VariableValue><VariableRef targetGUID="{G(3, 1)}"/><TextValue>north</TextValue>
      </VariableValue>
      <VariableValue><VariableRef targetGUID="{G(3, 2)}"/><IntegerValue>12</IntegerValue>
      </VariableValue>
      <VariableValue><VariableRef targetGUID="{G(3, 3)}"/><BooleanValue>true</BooleanValue>
      </VariableValue>
      <VariableValue><VariableRef targetGUID="{G(3, 4)}"/><FloatValue>1250.5</FloatValue>
      </VariableValue>
      <SourceRef targetGUID="{G(5, 1)}"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="{G(5, 1)}" name="Interview one" plainTextPath="internal://interview one.txt">
      <PlainTextSelection guid="{G(6, 1)}" startPosition="{tea[0]}" endPosition="{tea[1]}">
        <Coding guid="{G(7, 1)}"><CodeRef targetGUID="{G(2, 3)}"/></Coding>
        <NoteRef targetGUID="{G(8, 1)}"/>
      </PlainTextSelection>
      <PlainTextSelection guid="{G(6, 2)}" startPosition="{money[0]}" endPosition="{money[1]}">
        <Coding guid="{G(7, 2)}"><CodeRef targetGUID="{G(2, 4)}"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="{G(6, 3)}" startPosition="{across[0]}" endPosition="{across[1]}"/>
      <PlainTextSelection guid="{G(6, 4)}" startPosition="{nadia[0]}" endPosition="{nadia[1]}"/>
      {extra_selection}
    </TextSource>
    <TextSource guid="{G(5, 2)}" name="Focus group" plainTextPath="internal://fg/focus.txt">
      <PlainTextSelection guid="{G(6, 5)}" startPosition="{thanks[0]}" endPosition="{thanks[1]}">
        <Coding guid="{G(7, 3)}"><CodeRef targetGUID="{G(2, 1)}"/></Coding>
      </PlainTextSelection>
    </TextSource>
    <TextSource guid="{G(5, 3)}" name="Field notes">
      <PlainTextContent>{FIELD}</PlainTextContent>
      <PlainTextSelection guid="{G(6, 6)}" startPosition="{residents[0]}"
          endPosition="{residents[1]}"/>
      <Coding guid="{G(7, 4)}"><CodeRef targetGUID="{G(2, 2)}"/></Coding>
    </TextSource>
    <PDFSource guid="{G(5, 4)}" name="Leaflet" path="internal://leaflet.pdf"/>
  </Sources>
  <Notes>
    <Note guid="{G(8, 1)}" name="Memo on tea" creatingUser="{G(1, 1)}">
      <PlainTextContent>Tea mattered more than the terms of reference.</PlainTextContent>
    </Note>
    <Note guid="{G(8, 2)}" name="Project memo" creatingUser="{G(1, 1)}">
      <PlainTextContent>Read the field notes first.</PlainTextContent>
    </Note>
    {extra_note}
  </Notes>
</Project>
"""


def _write_qdpx(path: Path, project: str | bytes | None, members: dict[str, bytes] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        if project is not None:
            zf.writestr("project.qde", project if isinstance(project, bytes) else project.encode())
        for name, data in dict(members).items():
            zf.writestr(name, data)
    return path


def _other_tool_qdpx(tmp_path: Path, project: str | None = None, **members: bytes) -> Path:
    files = {
        "Sources/interview one.txt": INTERVIEW.encode("utf-8"),
        "Sources/fg/focus.txt": FOCUS.encode("utf-8"),
        "Sources/leaflet.pdf": b"%PDF-1.4",
        **members,
    }
    return _write_qdpx(tmp_path / "other.qdpx", project or _other_tool_project(), files)


def test_a_project_of_another_tool_imports(store, tmp_path):
    store.set_pseudonym("Nadia Wren", "Person N")
    path = _other_tool_qdpx(tmp_path)
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(_project(path))
    summary = import_qdpx(store, path)

    assert sorted(summary.sources) == ["Field notes", "Focus group", "Interview one"]
    trs = {t.title: t for t in store.transcripts()}
    interview = trs["Interview one"]
    assert interview.text == (
        "Interviewer: How did the partnership start?\n"
        "Respondent: Slowly, over cups of tea with Person N.\n"
        "Unknown: Then the money came.\n"
    )
    assert interview.source_format == "qdpx"
    assert interview.content_hash == hashlib.sha256(INTERVIEW.encode()).hexdigest()
    assert store.partnership(interview.partnership_id).short == "Northfield Health Alliance"
    assert [t.speaker for t in store.turns(interview.id)] == [
        "Interviewer",
        "Respondent",
        "Unknown",
    ]
    assert trs["Focus group"].text == "Facilitator: Welcome, everyone.\nP1: Thanks for having us.\n"
    # No line looks like "Name: text": a plain document, one turn without a speaker.
    assert trs["Field notes"].text == f"{FIELD}\n"
    assert [t.speaker for t in store.turns(trs["Field notes"].id)] == [""]

    # Selections land on the same words, even where the text was laid out anew.
    quotes = sorted(e.text for e in all_excerpts(store))
    assert quotes == sorted(
        [
            "cups of tea",
            "Then the money came",
            "Slowly, over cups of tea with Person N.\nUnknown: Then the money came",
            "Person N",
            "Thanks for having us",
            "Residents spoke first",
        ]
    )
    assert summary.selections == 6

    stored = [
        {
            "guid": c.guid,
            "name": c.name,
            "parent": {x.id: x.guid for x in store.codes()}.get(c.parent_id),
        }
        for c in store.codes()
    ]
    assert _code_paths(stored) == _code_paths(summary.codes)  # kept in the codebook tables
    assert _code_paths(summary.codes) == {
        ("Trust",),
        ("Trust", "Early trust"),
        ("Trust", "Early trust", "Cups of tea"),
        ("Barriers",),
    }
    names = {c["guid"]: c["name"] for c in summary.codes}
    excerpt = {e.id: e.text for e in all_excerpts(store)}
    title = {t.id: title for title, t in trs.items()}
    coded = {
        (excerpt.get(c.get("excerpt_id")) or title[c.get("transcript_id")], names[c["code_guid"]])
        for c in summary.codings
    }
    assert coded == {
        ("cups of tea", "Cups of tea"),
        ("Then the money came", "Barriers"),
        ("Thanks for having us", "Trust"),
        ("Field notes", "Early trust"),
    }
    assert store.tensions() == []  # other tools' codes are not tensions

    (pship,) = store.partnerships()
    assert pship.attributes == {"region": "north", "members": 12, "active": True, "budget": 1250.5}
    assert [r.name for r in store.researchers()] == ["Robin"]

    # A note anchored in a case's source is stored; one without a case stays in the summary.
    (note,) = as_(store, "Robin").notes()
    assert note.text.startswith("Tea mattered") and note.partnership_id == pship.id
    assert [e.text for e in note.excerpts] == ["cups of tea"]
    memo = next(n for n in summary.notes if n["name"] == "Project memo")
    assert memo["note_id"] is None and memo["text"] == "Read the field notes first."
    assert any("Project memo" in w for w in summary.warnings)
    assert any("Leaflet" in w for w in summary.warnings)
    assert not any("schema" in w for w in summary.warnings)


def test_dangling_references_are_warnings(store, tmp_path):
    ghost_code, ghost_note = G(9, 1), G(9, 2)
    extra = (
        f'<PlainTextSelection guid="{G(6, 9)}" startPosition="0" endPosition="11">'
        f'<Coding guid="{G(7, 9)}"><CodeRef targetGUID="{ghost_code}"/></Coding>'
        f'<NoteRef targetGUID="{ghost_note}"/></PlainTextSelection>'
        f'<PlainTextSelection guid="{G(6, 10)}" startPosition="5" endPosition="99999"/>'
    )
    summary = import_qdpx(
        store, _other_tool_qdpx(tmp_path, _other_tool_project(extra_selection=extra))
    )
    assert any("unknown code" in w and ghost_code in w for w in summary.warnings)
    assert any("unknown note" in w and ghost_note in w for w in summary.warnings)
    assert any("outside the text" in w for w in summary.warnings)
    codings = summary.codings
    assert ghost_code not in {c["code_guid"] for c in codings}
    assert summary.selections == 7  # the dangling one is kept as a plain excerpt
    assert "Interviewer" in {e.text for e in store.excerpts()}


def test_importing_twice_is_refused_and_adds_nothing(store, tmp_path):
    path = _other_tool_qdpx(tmp_path)
    import_qdpx(store, path)
    before = (len(store.transcripts()), len(store.excerpts()), len(store.researchers()))
    with pytest.raises(DuplicateSource):
        import_qdpx(store, path)
    assert (len(store.transcripts()), len(store.excerpts()), len(store.researchers())) == before


# -- untrusted files ----------------------------------------------------------------------------


def test_not_a_zip(store, tmp_path):
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"this is not an archive")
    with pytest.raises(InvalidInput, match="not a REFI-QDA project"):
        import_qdpx(store, bad)
    assert _empty(store)


@pytest.mark.parametrize(
    "project",
    [None, b"not xml at all <", b'<?xml version="1.0"?><Project name="x"/>'],
    ids=["no project.qde", "not xml", "no namespace"],
)
def test_not_a_refi_project(store, tmp_path, project):
    path = _write_qdpx(tmp_path / "p.qdpx", project, {"Sources/a.txt": b"A: b"})
    with pytest.raises(InvalidInput, match="not a REFI-QDA project"):
        import_qdpx(store, path)
    assert _empty(store)


@pytest.mark.parametrize(
    "member", ["../evil.txt", "/etc/evil.txt", "Sources/../../evil.txt", "C:/evil.txt"]
)
def test_zip_slip_member_is_refused(store, tmp_path, member):
    path = _other_tool_qdpx(tmp_path, **{member: b"Eve: gotcha\n"})
    with pytest.raises(InvalidInput, match="outside the archive") as err:
        import_qdpx(store, path)
    assert member in str(err.value)
    assert _empty(store)


@pytest.mark.parametrize(
    "ref",
    [
        "internal:///etc/passwd",
        "internal://../project.qde",
        "absolute:///etc/passwd",
        "/etc/passwd",
        "file:///etc/passwd",
        "internal://missing.txt",
    ],
)
def test_plain_text_path_outside_the_archive_is_refused(store, tmp_path, ref):
    project = _other_tool_project().replace("internal://fg/focus.txt", ref)
    with pytest.raises(InvalidInput) as err:
        import_qdpx(store, _other_tool_qdpx(tmp_path, project))
    assert "Focus group" in str(err.value) and ref in str(err.value)
    assert _empty(store)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Project [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol9;"><Description>&lol9;</Description></Project>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Description>&xxe;</Description></Project>
"""


@pytest.mark.parametrize("project", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "xxe"])
def test_entities_are_refused_not_expanded(store, tmp_path, project):
    path = _write_qdpx(tmp_path / "bomb.qdpx", project)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="DTD"):
        import_qdpx(store, path)
    assert time.perf_counter() - started < 2
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown_kb < 100 * 1024
    assert _empty(store)


def test_oversized_member_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.setattr(refi_qda, "MAX_MEMBER_BYTES", 64)
    with pytest.raises(InvalidInput, match="larger than"):
        import_qdpx(store, _other_tool_qdpx(tmp_path))
    assert _empty(store)


def test_too_much_in_all_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.setattr(refi_qda, "MAX_TOTAL_BYTES", len(_other_tool_project()) + 10)
    with pytest.raises(InvalidInput, match="more than"):
        import_qdpx(store, _other_tool_qdpx(tmp_path))
    assert _empty(store)


def test_a_source_that_is_not_utf8_is_refused(store, tmp_path):
    path = _other_tool_qdpx(tmp_path, **{"Sources/fg/focus.txt": "Zoë: hi\n".encode("latin-1")})
    with pytest.raises(InvalidInput, match="Focus group.*not UTF-8"):
        import_qdpx(store, path)
    assert _empty(store)
