"""Building a workshop resource pack from a study's frozen framework."""

from __future__ import annotations

import os
from pathlib import Path

from coprod_nb.domain import word_count
from coprod_nb.domain.pseudonyms import scrub_fields
from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.exchange._names import typed_name_scrubber
from coprod_nb.exchange.outputs import check_output
from coprod_nb.exchange.resource_pack import (
    MAX_QUOTES,
    Card,
    Pack,
    Quote,
    read_docx_response,
    write_pack,
)
from coprod_nb.storage import Store

#: Quotes longer than this are left off the cards: a card is read at a glance.
MAX_QUOTE_WORDS = 45


def quotable_transcripts(store: Store) -> set[int]:
    """Transcripts whose participants all consented to being quoted."""
    refused = {p.name for p in store.participants() if not p.consent_quote}
    return {
        tr.id
        for tr in store.transcripts()
        if not refused.intersection(store.people_of(tr.id)["participants"])
    }


def build_pack(store: Store, version: int | None = None) -> Pack:
    """A resource pack for a frozen framework version (the newest by default).

    Each card shows up to three of the tension's evidence quotes, shortest first, only
    from conversations whose participants consented to quotation; the turns are already
    pseudonymised.
    """
    framework = store.framework(version)
    excerpts = {e.id: e for e in store.excerpts()}
    shorts = {p.id: p.short for p in store.partnerships()}
    partnership_of = {t.id: shorts.get(t.partnership_id, "") for t in store.transcripts()}
    allowed = quotable_transcripts(store)
    cards = []
    for tension in framework.tensions:
        quotes = [
            excerpts[i]
            for i in tension.evidence.get("excerpts", [])
            if i in excerpts
            and excerpts[i].transcript_id in allowed
            and word_count(excerpts[i].text) <= MAX_QUOTE_WORDS
        ]
        quotes.sort(key=lambda e: len(e.text))
        cards.append(
            Card(
                tension,
                tuple(Quote(e.text, partnership_of[e.transcript_id]) for e in quotes[:MAX_QUOTES]),
            )
        )
    pack = Pack(study=store.study().name, version_label=framework.label, cards=tuple(cards))
    # The pack goes to the participants: tension names and descriptions typed by the team
    # must not carry a real name from the key.
    return scrub_fields(pack, typed_name_scrubber(store)[0])


def write_resource_pack(
    store: Store,
    fmt: str,
    out: str | os.PathLike | None = None,
    version: int | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write the resource pack as ``html`` or ``docx``.

    Without ``out`` the file goes into the study folder's ``exports/`` (the study's own
    current pack, rewritten each time); a file named by ``out`` is replaced only with
    ``force`` and never onto the study's record (:mod:`coprod_nb.exchange.outputs`).
    """
    if out is not None:
        check_output(out, store, force=force)  # before the pack is built
    pack = build_pack(store, version)
    if out is None:
        folder = store.study_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        slug = pack.version_label.split(":")[0].strip().replace(" ", "_") or "pack"
        out = folder / f"resource_pack_{slug}.{fmt}"
        force = True
    return write_pack(pack, fmt, out, store=store, force=force)


def import_pack_response(store: Store, workshop: int | None, path: str | os.PathLike) -> list[str]:
    """Read a participant's filled-in Word resource pack into a workshop.

    Comments, suggestions and circle placements go to the participant named in the
    pack. Returns the reader's warnings (e.g. a row marked in both circles).
    """
    path = Path(path)
    response = read_docx_response(path)
    try:
        participant = store.participant(response.participant).name
    except NotFound as exc:
        raise InvalidInput(
            f"participant {response.participant!r} is not in the study", file=path.name
        ) from exc
    ws = store.workshop(workshop)
    for card in response.responses:
        store.set_response(
            ws.id,
            participant,
            card.code,
            comment=card.comment,
            suggestion=card.suggestion,
            circle=card.circle,
            source="docx",
        )
    return list(response.warnings)
