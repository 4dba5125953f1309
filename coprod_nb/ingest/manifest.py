"""A study described in one TOML file: partnerships, people, pseudonyms, transcripts.

The demo study is such a file (``data/demo/study.toml``); a team can describe its own
study the same way and load it with ``coprod-nb init DIR --manifest FILE``.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from coprod_nb.errors import InvalidInput
from coprod_nb.ingest.importer import ImportReport, import_transcripts
from coprod_nb.storage import Store

_SECTIONS = {"study", "partnerships", "researchers", "participants", "people", "transcripts"}


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Parse and check a study manifest; errors name the file and the entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput("no such file", file=str(path)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not valid TOML: {exc}", file=path.name) from exc
    unknown = set(data) - _SECTIONS
    if unknown:
        raise InvalidInput(f"unknown section(s) {sorted(unknown)}", file=path.name)
    required = {
        "partnerships": ("short", "name"),
        "researchers": ("name",),
        "participants": ("name", "pseudonym"),
        "people": ("name", "pseudonym"),
        "transcripts": ("file",),
    }
    for section, keys in required.items():
        for i, entry in enumerate(data.get(section, []), start=1):
            for key in keys:
                if not str(entry.get(key, "")).strip():
                    raise InvalidInput(
                        f"missing {key!r}", file=path.name, place=f"[[{section}]] entry {i}"
                    )
    return data


def load_manifest(store: Store, path: str | Path, *, progress: bool = True) -> ImportReport:
    """Create a study's partnerships, people and pseudonyms, then import its transcripts.

    Transcript paths are relative to the manifest. Participants and researchers are
    stored under their pseudonyms; their real names go into the pseudonym key only.
    """
    path = Path(path).resolve()
    data = read_manifest(path)
    info = data.get("study", {})
    if info:
        store.update_study(
            name=info.get("name", store.study().name),
            description=info.get("description", ""),
            settings={k: v for k, v in info.items() if k not in ("name", "description")},
        )
    for p in data.get("partnerships", []):
        store.add_partnership(p["short"], p["name"], p.get("attributes", {}))
    for r in data.get("researchers", []):
        shown = r.get("pseudonym") or r["name"]
        store.add_researcher(shown, r.get("login"), bool(r.get("lead", False)))
        if shown != r["name"]:
            store.set_pseudonym(r["name"], shown, reapply=False)
    for p in data.get("participants", []):
        store.add_participant(
            p["pseudonym"],
            p.get("partnership"),
            p.get("role", ""),
            bool(p.get("consent_record", False)),
            bool(p.get("consent_quote", False)),
        )
        store.set_pseudonym(p["name"], p["pseudonym"], reapply=False)
    for p in data.get("people", []):
        store.set_pseudonym(p["name"], p["pseudonym"], reapply=False)
    key = store.pseudonym_key()
    report = ImportReport()
    for i, t in enumerate(data.get("transcripts", []), start=1):
        file = path.parent / t["file"]
        try:
            when = date.fromisoformat(str(t["date"])) if t.get("date") else None
        except ValueError as exc:
            raise InvalidInput(
                f"bad date {t['date']!r}", file=path.name, place=f"[[transcripts]] entry {i}"
            ) from exc
        one = import_transcripts(
            store,
            [file],
            partnership=t.get("partnership"),
            date=when,
            participants=[key.apply(n) for n in t.get("participants", [])],
            interviewers=[key.apply(n) for n in t.get("interviewers", [])],
            title=t.get("title"),
            progress=progress,
        )
        report.imported += one.imported
    report.unmatched_speakers = store.unmatched_speakers()
    return report


def load_notes(store: Store, path: str | Path) -> int:
    """Add step-1 notes from a TOML file (``[[notes]]`` entries, as in ``data/demo``).

    Each entry: researcher, partnership, category, kind, text and an optional ``quote``
    (exact words of one of that partnership's transcripts), which becomes the note's
    anchor. Returns the number of notes added.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not valid TOML: {exc}", file=path.name) from exc
    by_partnership: dict[str, list] = {}
    for tr in store.transcripts():
        by_partnership.setdefault(tr.partnership_id, []).append(tr)
    added = 0
    for i, entry in enumerate(data.get("notes", []), start=1):
        place = f"[[notes]] entry {i}"
        for key in ("researcher", "partnership", "text"):
            if not str(entry.get(key, "")).strip():
                raise InvalidInput(f"missing {key!r}", file=path.name, place=place)
        pship = store.partnership(entry["partnership"])
        anchors = []
        if entry.get("quote"):
            found = [tr for tr in by_partnership.get(pship.id, []) if entry["quote"] in tr.text]
            if not found:
                raise InvalidInput(
                    "quote not found in the partnership's transcripts", file=path.name, place=place
                )
            anchors.append(store.excerpt_of_quote(found[0].id, entry["quote"]).id)
        store.add_note(
            entry["researcher"],
            pship.id,
            entry["text"].strip(),
            category=entry.get("category", "reflection"),
            kind=entry.get("kind", "self-reflection"),
            excerpts=anchors,
        )
        added += 1
    return added
