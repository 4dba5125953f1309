"""A study described in one TOML file: partnerships, people, pseudonyms, transcripts.

The demo study is such a file (``seed/data/demo/study.toml``); a team can describe its own
study the same way and load it with ``coprod-nb init DIR --manifest FILE``.
:func:`write_manifest` writes a study's set-up back out in the same format.
"""

from __future__ import annotations

import hashlib
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from coprod_nb.domain.toml_text import load_toml
from coprod_nb.errors import InvalidInput
from coprod_nb.ingest._decode import MAX_FILE_BYTES
from coprod_nb.ingest.importer import ImportReport, import_transcripts
from coprod_nb.ingest.limits import read_capped, read_text_capped
from coprod_nb.ingest.readers import read_transcript
from coprod_nb.storage import Store, access
from coprod_nb.storage.access import as_lead

_SECTIONS = {"study", "partnerships", "researchers", "participants", "people", "transcripts"}

# The study settings that belong to the set-up (and so to a written manifest). Others
# (a .qdpx import's code book, for one) are data of the analysis, not of the set-up.
SETUP_SETTINGS = ("speaker_pattern", "categories", "data_kinds", "prompts")

_HEADER = """\
# Study set-up written by coprod_nb (write_manifest). It holds REAL NAMES: the
# pseudonym key (each person's `name` beside the `pseudonym` the study shows). Keep it
# where the study database is kept, never beside the notebooks, never in a repository.
# Transcripts are not listed: their text is in the study; import the files again after
# `coprod-nb init DIR --manifest THIS_FILE`, or add [[transcripts]] entries by hand.

"""


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Parse and check a study manifest; errors name the file and the entry."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInput("a study manifest is a .toml file, not a folder", file=str(path))
    data = _read_toml(path)
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


def load_manifest(
    store: Store, path: str | Path, *, progress: bool = True, data: dict | None = None
) -> ImportReport:
    """Create a study's partnerships, people and pseudonyms, then import its transcripts.

    Transcript paths are relative to the manifest. Participants and researchers are
    stored under their pseudonyms; their real names go into the pseudonym key only.
    ``data``, when given, is loaded instead of the file's content (a manifest read with
    :func:`read_manifest` and adapted, as course mode does); paths stay relative to ``path``.
    """
    path = Path(path).resolve()
    data = read_manifest(path) if data is None else data
    dates = _check_transcripts(store, path, data)
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
        one = import_transcripts(
            store,
            [path.parent / t["file"]],
            partnership=t.get("partnership"),
            date=dates[i - 1],
            participants=[key.apply(n) for n in t.get("participants", [])],
            interviewers=[key.apply(n) for n in t.get("interviewers", [])],
            title=t.get("title"),
            progress=progress,
        )
        report.imported += one.imported
    report.unmatched_speakers = store.unmatched_speakers()
    return report


def _check_transcripts(store: Store, path: Path, data: dict) -> list[date | None]:
    """Read every transcript a manifest lists before anything is written.

    A manifest is loaded all or nothing: a bad date, an unknown partnership, or a
    transcript file that cannot be read stops the load here, naming the manifest and
    its ``[[transcripts]]`` entry. Returns each entry's date.
    """
    pattern = (data.get("study", {}) or {}).get("speaker_pattern") or (
        store.study().settings or {}
    ).get("speaker_pattern")
    partnerships = {p["short"] for p in data.get("partnerships", [])}
    partnerships |= {p.short for p in store.partnerships()}
    known = {tr.content_hash: tr.source_name for tr in store.transcripts()}
    seen: dict[str, int] = {}
    dates = []
    for i, t in enumerate(data.get("transcripts", []), start=1):
        place = f"[[transcripts]] entry {i}"
        try:
            when = date.fromisoformat(str(t["date"])) if t.get("date") else None
        except ValueError:
            raise InvalidInput(f"bad date {t['date']!r}", file=path.name, place=place) from None
        short = t.get("partnership")
        if short is not None and short not in partnerships:
            raise InvalidInput(
                f"unknown partnership {short!r} (not in [[partnerships]] nor in the study)",
                file=path.name,
                place=place,
            )
        file = path.parent / str(t["file"])
        try:
            read_transcript(file, speaker_pattern=pattern)
        except InvalidInput as exc:
            raise InvalidInput(
                f"{t['file']}: {exc.problem}" + (f" ({exc.place})" if exc.place else ""),
                file=path.name,
                place=place,
            ) from None
        digest = hashlib.sha256(read_capped(file, MAX_FILE_BYTES, what="transcript")).hexdigest()
        if digest in seen or digest in known:
            where = f"entry {seen[digest]}" if digest in seen else f"the study ({known[digest]})"
            raise InvalidInput(
                f"{t['file']} has the same content as {where}", file=path.name, place=place
            )
        seen[digest] = i
        dates.append(when)
    return dates


def _read_toml(path: Path, what: str = "manifest") -> dict:
    # Read with a cap and parsed under size and depth limits: a FIFO, /dev/zero or a
    # deeply nested file is a clear refusal, not a MemoryError or RecursionError.
    try:
        return load_toml(read_text_capped(path, what=what), file=path.name)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"not valid TOML: {exc}", file=path.name) from None


def _quote_excerpt(store: Store, partnership: str, quote: str, file: str, place: str) -> int:
    """Excerpt id of ``quote`` in the first transcript of a partnership that contains it."""
    pid = store.partnership(partnership).id
    for tr in store.transcripts():
        if tr.partnership_id == pid and quote in tr.text:
            return store.excerpt_of_quote(tr.id, quote).id
    raise InvalidInput(f"quote not found in {partnership}'s transcripts", file=file, place=place)


def load_notes(store: Store, path: str | Path) -> dict[str, int]:
    """Add step-1 notes from a TOML file (``[[notes]]`` entries, as in ``seed/data/demo``).

    Each entry: researcher, partnership, category, kind, text, an optional ``quote``
    (exact words of one of that partnership's transcripts; it becomes the note's
    anchor) and an optional ``id`` other files can refer to.

    Returns
    -------
    dict
        The file's note ids (or ``#N`` for entries without one) -> stored note ids.
    """
    path = Path(path)
    data = _read_toml(path)
    added: dict[str, int] = {}
    for i, entry in enumerate(data.get("notes", []), start=1):
        place = f"[[notes]] entry {i}"
        for key in ("researcher", "partnership", "text"):
            if not str(entry.get(key, "")).strip():
                raise InvalidInput(f"missing {key!r}", file=path.name, place=place)
        anchors = []
        if entry.get("quote"):
            anchors.append(
                _quote_excerpt(store, entry["partnership"], entry["quote"], path.name, place)
            )
        note = store.add_note(
            entry["researcher"],
            entry["partnership"],
            entry["text"].strip(),
            category=entry.get("category", "reflection"),
            kind=entry.get("kind", "self-reflection"),
            excerpts=anchors,
        )
        added[str(entry.get("id", f"#{i}"))] = note.id
    return added


def load_joint_meeting(store: Store, path: str | Path, note_ids: dict[str, int]) -> list[str]:
    """Add a joint interpretation meeting, its dissents, tensions, evidence and links.

    ``note_ids`` maps the note ids used in the file to stored notes (what
    :func:`load_notes` returns). Returns the codes of the tensions added.
    """
    path = Path(path)
    data = _read_toml(path)
    info = data.get("meeting") or {}
    if "date" not in info:
        raise InvalidInput("the [meeting] needs a date", file=path.name)
    meeting = store.add_meeting(
        date.fromisoformat(str(info["date"])),
        info.get("attendees", []),
        info.get("minutes", "").strip(),
        info.get("title", "Joint interpretation meeting"),
    )
    for d in data.get("dissents", []):
        store.add_dissent(
            meeting.id,
            d["topic"],
            d.get("positions", []),
            d.get("resolution", ""),
            bool(d.get("settled", False)),
        )
    codes = []
    for i, t in enumerate(data.get("tensions", []), start=1):
        place = f"[[tensions]] entry {i}"
        unknown = [n for n in t.get("notes", []) if n not in note_ids]
        if unknown:
            raise InvalidInput(f"unknown note id(s) {unknown}", file=path.name, place=place)
        row = store.add_tension(
            t["name"],
            t["pole_a"],
            t["pole_b"],
            code=t.get("code"),
            description=t.get("description", "").strip(),
            subthemes=t.get("subthemes", []),
            proposer=t.get("proposer", ""),
            status=t.get("status", "agreed"),
        )
        excerpts = [
            _quote_excerpt(store, q["partnership"], q["quote"], path.name, place)
            for q in t.get("quotes", [])
        ]
        store.attach_evidence(
            row.code, notes=[note_ids[n] for n in t.get("notes", [])], excerpts=excerpts
        )
        codes.append(row.code)
    for link in data.get("links", []):
        store.link_tensions(link["source"], link["target"], link["kind"])
    return codes


def load_workshop(
    store: Store, path: str | Path, *, lead: str | None = None, freeze: bool = True
) -> int:
    """Replay a recorded workshop from a TOML file (as the demo's ``workshop.toml``).

    The workshop record, the participants' card responses and circles, the opening
    poll, the decisions, the re-vote and the spectrum positions, in that order; the
    framework after the decisions is frozen by the study lead (the record, decisions,
    polls closed and the freeze are the lead's acts: :func:`~coprod_nb.storage.access.as_lead`;
    ``lead`` is accepted for compatibility and ignored). With ``freeze=False`` the
    workshop stays open (its decisions can still change) and the spectrum positions,
    which are placed on the frozen final tensions, are left out. Returns the workshop id.
    """
    from coprod_nb.domain.decisions import read_decision_log

    path = Path(path)
    text = read_text_capped(path, what="workshop file")
    data = _read_toml(path, "workshop file")
    info = data.get("workshop") or {}
    if "date" not in info:
        raise InvalidInput("the [workshop] needs a date", file=path.name)
    with as_lead(store):
        ws = store.add_workshop(
            date.fromisoformat(str(info["date"])),
            facilitators=info.get("facilitators", []),
            participants=info.get("participants", []),
            mode=info.get("mode", "online"),
            base_version=info.get("base_version"),
            consensus_threshold=info.get("consensus_threshold", 0.75),
        )
    for r in data.get("responses", []):
        store.set_response(
            ws.id,
            r["participant"],
            r["tension"],
            comment=r.get("comment", ""),
            suggestion=r.get("suggestion", ""),
            circle=r.get("circle", "none"),
            reason=r.get("reason", ""),
            source=path.name,
        )
    base = store.framework(ws.base_version)
    _replay_poll(store, ws.id, "opening", data.get("poll"), base.codes)
    with as_lead(store):
        # The whole log at once: checked whole, written in one transaction, linear in length.
        store.record_decisions(ws.id, read_decision_log(text, source=path.name))
    _replay_poll(store, ws.id, "revote", data.get("revote"), store.current_framework(ws.id).codes)
    if not freeze:
        return ws.id
    with as_lead(store):
        store.freeze_workshop_framework(ws.id, "v2: the framework after the workshop")
    for p in data.get("spectra", []):
        store.set_position(p["partnership"], p["tension"], str(p["when"]), p["position"])
    return ws.id


def _replay_poll(
    store: Store, workshop: int, name: str, poll: dict | None, options: list[str]
) -> None:
    if not poll:
        return
    row = store.open_poll(
        workshop,
        name,
        options,
        max_choices=poll.get("max_choices"),
        ranked=bool(poll.get("ranked", False)),
    )
    for ballot in poll.get("ballots", []):
        store.cast_ballot(row.id, ballot["participant"], ballot["choices"])
    with as_lead(store):
        store.close_poll(row.id)


def manifest_toml(store: Store) -> str:
    """The study's set-up as the text of a manifest (see :func:`write_manifest`).

    Raises
    ------
    InvalidInput
        A participant with no real name in the key (a manifest needs one), or a value
        TOML cannot hold (an empty value in a partnership's attributes).
    Forbidden
        A researcher other than the study lead (the manifest holds every real name), or
        a database role that may not read the name key.
    """
    import tomli_w

    with store.session(write=False) as s:
        access.require_lead_once_named(store, s, "write the study's real names out")
    study = store.study()
    settings = study.settings or {}
    info: dict[str, Any] = {"name": study.name, "description": study.description or ""}
    for key in SETUP_SETTINGS:
        if settings.get(key) not in (None, [], ""):
            info[key] = settings[key]
    # Real names by the pseudonym they are shown as; a person's own name is the longest
    # (a full name before the first name alone), the others are listed as [[people]].
    reals: dict[str, list[str]] = {}
    for real, pseudonym in sorted(store.pseudonym_key().mapping.items()):
        reals.setdefault(pseudonym, []).append(real)
    for names in reals.values():
        names.sort(key=lambda n: (-len(n), n))
    shorts = {p.id: p.short for p in store.partnerships()}

    partnerships = []
    for p in store.partnerships():
        entry: dict[str, Any] = {"short": p.short, "name": p.name}
        if p.attributes:
            entry["attributes"] = _toml_ready(p.attributes, f"partnership {p.short}")
        partnerships.append(entry)
    researchers = []
    for r in store.researchers():
        own = reals.get(r.name, [])
        entry = {"name": own.pop(0), "pseudonym": r.name} if own else {"name": r.name}
        if r.login:
            entry["login"] = r.login
        if r.lead:
            entry["lead"] = True
        researchers.append(entry)
    participants, nameless = [], []
    for p in store.participants():
        own = reals.get(p.name, [])
        if not own:
            nameless.append(p.name)
            continue
        entry = {"name": own.pop(0), "pseudonym": p.name}
        if p.partnership_id is not None:
            entry["partnership"] = shorts[p.partnership_id]
        if p.role:
            entry["role"] = p.role
        entry["consent_record"] = bool(p.consent_record)
        entry["consent_quote"] = bool(p.consent_quote)
        participants.append(entry)
    if nameless:
        raise InvalidInput(
            "a manifest names each participant's real name, and the key has none for "
            f"{', '.join(nameless)}: set their real names (pseudonyms) first"
        )
    people = [
        {"name": real, "pseudonym": pseudonym}
        for pseudonym, names in sorted(reals.items())
        for real in names
    ]
    data: dict[str, Any] = {"study": info}
    for section, rows in (
        ("partnerships", partnerships),
        ("researchers", researchers),
        ("participants", participants),
        ("people", people),
    ):
        if rows:
            data[section] = rows
    return _HEADER + tomli_w.dumps(data, multiline_strings=True)


def write_manifest(store: Store, path: str | Path, *, force: bool = False) -> Path:
    """Write the study's set-up as a manifest that :func:`load_manifest` reads back.

    The study (name, description and the set-up settings: speaker pattern, note
    categories, kinds of data, prompts), the partnerships with their attributes, the
    researchers, the participants and the other people of the name key. Loading the
    file into an empty study gives the same set-up. Transcripts are not written (their
    text is in the study, and a manifest lists transcript files to import).

    **The file holds real names**: the pseudonym key, each person's real ``name``
    beside the ``pseudonym`` the study shows. Keep it with the study database. A
    folder that holds notebooks (``*.ipynb``) is refused: notebooks are shared and
    committed, and a key must not travel with them.

    Parameters
    ----------
    store : Store
    path : path
        The ``.toml`` file to write, by the output rule (:mod:`coprod_nb.exchange.outputs`):
        never onto the study's record, an existing file replaced only with ``force``.
    force : bool, default False
        Replace ``path`` if it exists.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InvalidInput
        A folder holding notebooks, a folder given as the file, or a set-up that a
        manifest cannot hold (see :func:`manifest_toml`); a path the output rule refuses.
    """
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise InvalidInput("give the manifest's file name, not a folder", file=str(path))
    if path.parent.is_dir() and any(path.parent.glob("*.ipynb")):
        raise InvalidInput(
            "a manifest holds real names and is not written beside notebooks; "
            "write it into the study folder (or another private place)",
            file=str(path),
        )
    text = manifest_toml(store)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("the set-up holds a character with no UTF-8 form") from exc
    from coprod_nb.exchange.outputs import write_output

    return write_output(path, data, store, force=force)


def _toml_ready(value: Any, where: str) -> Any:
    """``value`` unchanged if TOML can hold it (no null anywhere), else InvalidInput."""
    if value is None:
        raise InvalidInput(f"{where}: TOML has no empty value; give it a value or remove it")
    if isinstance(value, dict):
        return {k: _toml_ready(v, f"{where}, {k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_toml_ready(v, where) for v in value]
    return value


def attributes_text(attributes: dict) -> str:
    """A partnership's attributes as TOML lines (``region = "north"``), for editing."""
    import tomli_w

    return tomli_w.dumps(_toml_ready(attributes or {}, "attributes"))


def attributes_from_text(text: str) -> dict[str, Any]:
    """Parse attributes typed as TOML lines (``region = "north"``, ``members = 9``).

    Raises
    ------
    InvalidInput
        Text that is not TOML ``key = value`` lines, with the parser's reason.
    """
    try:
        return load_toml(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(
            f'attributes are lines of key = value, text in quotes (region = "north"): {exc}'
        ) from None
