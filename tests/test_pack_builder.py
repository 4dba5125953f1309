"""The resource pack built from the demo study's frozen framework v1."""

from __future__ import annotations

from coprod_nb.cli import main
from coprod_nb.exchange.pack_builder import build_pack, quotable_transcripts
from coprod_nb.exchange.resource_pack import read_docx_response


def test_pack_has_one_card_per_frozen_tension_and_respects_consent(demo):
    pack = build_pack(demo, 1)
    assert [c.tension.code for c in pack.cards] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert all(1 <= len(c.quotes) <= 3 for c in pack.cards)
    avc = demo.transcript("avc_2021-06-15_otter").id
    assert avc not in quotable_transcripts(demo)  # its leader did not consent to quotation
    assert all(q.partnership != "AVC" for c in pack.cards for q in c.quotes)
    texts = {e.text for e in demo.excerpts()}
    assert all(q.text in texts for c in pack.cards for q in c.quotes)


def test_pack_ignores_later_edits_of_the_working_set(demo):
    demo.update_tension("T1", name="Renamed after the freeze")
    assert build_pack(demo, 1).cards[0].tension.name.startswith("Idealistic")


def test_cli_writes_html_and_a_docx_that_reads_back(demo_dir, tmp_path, capsys):
    html, docx = tmp_path / "pack.html", tmp_path / "pack.docx"
    assert (
        main(["resource-pack", str(demo_dir), "--version", "1", "--format", "html", str(html)]) == 0
    )
    assert "Idealistic, tokenistic vs realistic narratives" in html.read_text()
    assert (
        main(["resource-pack", str(demo_dir), "--version", "1", "--format", "docx", str(docx)]) == 0
    )
    import docx as python_docx

    doc = python_docx.Document(docx)
    doc.tables[0].cell(0, 1).text = "Jo Linden"  # the participant fills in their name
    doc.save(docx)
    response = read_docx_response(docx)
    assert response.participant == "Jo Linden"
    assert [r.code for r in response.responses] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert main(["resource-pack", str(demo_dir), "--version", "7", str(html)]) == 1
    assert "already exists" in capsys.readouterr().err  # replaced only with --force
    assert main(["resource-pack", str(demo_dir), "--version", "7", "--force", str(html)]) == 1
    assert "no framework version 7" in capsys.readouterr().err
    assert "Idealistic, tokenistic vs realistic narratives" in html.read_text()  # kept
