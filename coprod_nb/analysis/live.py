"""The live workshop as the facilitator follows it: who has answered, what came in.

What a participant wrote is the facilitator's to read as it arrives; what the poll
says stays hidden until the poll closes (see
:func:`~coprod_nb.analysis.sensemaking.poll_results`).
"""

from __future__ import annotations

import pandas as pd

from coprod_nb.storage import Store

__all__ = ["live_progress", "live_responses"]

PROGRESS_COLUMNS = ["participant", "partnership", "link", "cards", "of", "voted"]
RESPONSE_COLUMNS = ["participant", "code", "circle", "comment", "suggestion", "updated_at"]


def _roster(store: Store, ws) -> list[str]:
    return list(ws.participants) if ws.participants else [p.name for p in store.participants()]


def live_progress(store: Store, workshop: int | None = None) -> pd.DataFrame:
    """One row per participant of the workshop: link issued, cards answered, voted.

    Returns
    -------
    DataFrame
        Columns participant, partnership, link ("active" or "none"), cards (cards
        answered), of (cards in the pack), voted (in the current poll; False when
        there is none). ``attrs["poll"]`` names the current poll (or None).
    """
    ws = store.workshop(workshop)
    cards = len(store.framework(ws.base_version).codes)
    people = {p.name: p for p in store.participants()}
    shorts = {p.id: p.short for p in store.partnerships()}
    ids = {p.id: p.name for p in people.values()}
    answered: dict[str, int] = {}
    for r in store.responses(ws.id):
        answered[ids[r.participant_id]] = answered.get(ids[r.participant_id], 0) + 1
    links = store.active_links(ws.id)
    poll = store.current_poll(ws.id)
    voters = set(store.voters(poll.id)) if poll is not None else set()
    rows = [
        {
            "participant": name,
            "partnership": shorts.get(people[name].partnership_id, "") if name in people else "",
            "link": "active" if name in links else "none",
            "cards": answered.get(name, 0),
            "of": cards,
            "voted": name in voters,
        }
        for name in _roster(store, ws)
    ]
    table = pd.DataFrame(rows, columns=PROGRESS_COLUMNS)
    table.attrs["poll"] = poll.name if poll is not None else None
    return table


def live_responses(store: Store, workshop: int | None = None) -> pd.DataFrame:
    """The card responses of a workshop, newest first (as they arrive)."""
    ws = store.workshop(workshop)
    ids = {p.id: p.name for p in store.participants()}
    rows = [
        {
            "participant": ids[r.participant_id],
            "code": r.code,
            "circle": r.circle,
            "comment": r.comment,
            "suggestion": r.suggestion,
            "updated_at": r.updated_at,
        }
        for r in store.responses(ws.id)
    ]
    table = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    return table.sort_values(
        ["updated_at", "participant", "code"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
