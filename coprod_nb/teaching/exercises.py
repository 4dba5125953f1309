"""Short exercises for the step notebooks, checked against the study itself.

Each exercise asks the student to look again at something a notebook has just shown (a
count in the progress table, the gaps between readings, the circles, the decision log)
and answers it from the study the notebook works on: nothing is hard-coded, so the same
exercise works on the demo study, on a course group's study and on a real one.

In a notebook::

    answer_01a = None  # your answer
    check("01-a", answer_01a, study)

``None`` shows the question and a hint; a wrong answer says so and repeats the hint
(it never reveals the answer); a right one says why it matters for the method.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pandas as pd

from coprod_nb.errors import InvalidInput
from coprod_nb.storage import Store

__all__ = ["EXERCISES", "Exercise", "NotReady", "Result", "Solution", "check", "exercises"]

#: Notebook of each step, by the two-digit prefix of an exercise id.
NOTEBOOKS: dict[str, str] = {
    "01": "01_individual_recall",
    "02": "02_joint_interpretation",
    "03": "03_workshop_sensemaking",
}

#: How far apart a share may be from the study's and still count as right (1 point).
SHARE_TOLERANCE = 0.01


class NotReady(Exception):
    """The study is not yet at the point an exercise is about (e.g. step 1 still open)."""


@dataclass(frozen=True)
class Solution:
    """The answer an exercise expects, computed from one study.

    Parameters
    ----------
    answer : str, int, float or frozenset of str
        What is right: a set of names for "which ..." questions (several when they
        tie), a count, or a share between 0 and 1.
    facts : mapping
        Values the "why it matters" line is filled with.
    aliases : mapping of str to str
        Other accepted spellings of a name (e.g. a partnership's full name for its
        short name), normalised to the name itself.
    """

    answer: Any
    facts: Mapping[str, Any] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    """One exercise: where it sits, what it asks, how to find the answer, and why.

    ``kind`` says how answers are compared: ``"names"`` (a set of names, any order,
    case and spacing ignored), ``"count"`` (a whole number) or ``"share"`` (a share
    given as 0.4, "40%" or "2/5"). ``solve`` computes the :class:`Solution` from a
    study and raises :class:`NotReady` when the study has not reached the exercise's
    step. ``why`` is formatted with the solution's ``facts``.
    """

    id: str
    section: str
    question: str
    hint: str
    why: str
    kind: str
    solve: Callable[[Store], Solution]

    @property
    def notebook(self) -> str:
        """The notebook the exercise belongs to, e.g. ``"01_individual_recall"``."""
        return NOTEBOOKS[self.id[:2]]


@dataclass(frozen=True)
class Result:
    """The verdict of :func:`check`; in a notebook it displays as its message.

    ``status`` is ``"unanswered"``, ``"wrong"``, ``"right"`` or ``"not ready"`` (the
    study has not reached the exercise's step yet).
    """

    exercise: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        """Whether the answer was right."""
        return self.status == "right"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message


# ------------------------------------------------------------------ reading the study


def _lead(store: Store) -> str:
    """A researcher to look as: after step 1 closes, everyone sees every note."""
    researchers = store.researchers()
    if not researchers:
        raise NotReady("the study has no researchers yet")
    return next((r.name for r in researchers if r.lead), researchers[0].name)


def _require_closed(store: Store) -> None:
    if store.step_closure() is None:
        raise NotReady(
            "this exercise is about the team's notes, which stay blind until the lead "
            "closes step 1; come back to it after the closing cell"
        )


def _team_notes(store: Store) -> list:
    _require_closed(store)
    return store.notes()


def _partnership_aliases(store: Store) -> dict[str, str]:
    return {_norm(p.name): _norm(p.short) for p in store.partnerships()}


def _tension_aliases(store: Store) -> dict[str, str]:
    return {_norm(t.name): _norm(t.code) for t in store.tensions()}


def _all_max(counts: Mapping[str, float], *, lowest: bool = False) -> frozenset[str]:
    if not counts:
        return frozenset()
    best = (min if lowest else max)(counts.values())
    return frozenset(k for k, v in counts.items() if v == best)


def _names(values: Iterable[str]) -> str:
    values = sorted(values)
    if not values:
        return "none"
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _workshop(store: Store):
    if not store.workshops():
        raise NotReady("the study has no workshop yet; this exercise is about step 3")
    return store.workshop()


# ------------------------------------------------------------------ the solutions


def _fewest_notes(store: Store) -> Solution:
    from coprod_nb.analysis import progress_table

    progress = progress_table(store)
    if progress.empty:
        raise NotReady("the study has no researchers or transcripts yet")
    per_pair = progress.drop_duplicates(["researcher", "partnership"])
    totals = per_pair.groupby("partnership")["notes"].sum().to_dict()
    answer = _all_max(totals, lowest=True)
    return Solution(
        answer,
        {"answer": _names(answer), "notes": min(totals.values())},
        _partnership_aliases(store),
    )


def _least_used_kind(store: Store) -> Solution:
    kinds = {k: 0 for k in store.data_kinds()}
    for note in _team_notes(store):
        kinds[note.kind] = kinds.get(note.kind, 0) + 1
    answer = _all_max(kinds, lowest=True)
    return Solution(answer, {"answer": _names(answer), "notes": min(kinds.values())})


def _unanchored(store: Store) -> Solution:
    notes = _team_notes(store)
    loose = [n for n in notes if not n.excerpts]
    return Solution(len(loose), {"answer": len(loose), "total": len(notes)})


def _most_barriers(store: Store) -> Solution:
    from coprod_nb.analysis import compare_counts

    _require_closed(store)
    counts = compare_counts(store)
    barriers = counts[counts.category == "barrier"].groupby("partnership")["notes"].sum()
    if barriers.sum() == 0:
        raise NotReady("nobody has written a barrier note yet")
    answer = _all_max(barriers.to_dict())
    return Solution(
        answer,
        {"answer": _names(answer), "notes": int(barriers.max())},
        _partnership_aliases(store),
    )


def _most_gaps(store: Store) -> Solution:
    from coprod_nb.analysis import gaps

    _require_closed(store)
    lonely = gaps(store)
    if lonely.empty:
        return Solution(frozenset(), {"answer": "nobody", "cells": 0})
    per_researcher = lonely.groupby("researcher").size()
    answer = _all_max(per_researcher.to_dict())
    return Solution(answer, {"answer": _names(answer), "cells": int(per_researcher.max())})


def _every_partnership(store: Store) -> Solution:
    from coprod_nb.analysis import evidence_matrix

    if not store.tensions():
        raise NotReady("the study has no tensions yet; this exercise is about step 2")
    matrix = evidence_matrix(store)
    covered = matrix.groupby("tension")["total"].apply(lambda s: bool((s > 0).all()))
    answer = frozenset(covered[covered].index)
    return Solution(
        answer,
        {
            "answer": _names(answer),
            "partnerships": matrix.partnership.nunique(),
            "others": _names(set(covered.index) - answer),
        },
        _tension_aliases(store),
    )


def _consensus_inner(store: Store) -> Solution:
    from coprod_nb.analysis import circle_results

    ws = _workshop(store)
    circles = circle_results(store, ws.id)
    if not circles.attrs.get("participants"):
        raise NotReady("no participant has placed a card in the circles yet")
    answer = frozenset(circles.loc[circles.consensus == "inner", "option"])
    return Solution(
        answer,
        {"answer": _names(answer), "threshold": f"{ws.consensus_threshold:.0%}"},
        _tension_aliases(store),
    )


def _kept_lowest_share(store: Store) -> Solution:
    from coprod_nb.analysis import circle_results

    ws = _workshop(store)
    decisions = store.decisions(ws.id)
    kept = {t for d in decisions if d.kind == "keep" and not d.reverted for t in d.targets}
    circles = circle_results(store, ws.id).set_index("option")
    kept &= set(circles.index)
    if not kept or not circles.attrs.get("participants"):
        raise NotReady("the workshop has no 'keep' decision on a card placed in the circles yet")
    shares = circles.loc[sorted(kept), "share_inner"]
    lowest = float(shares.min())
    which = _names(shares[shares == lowest].index)
    return Solution(lowest, {"answer": f"{lowest:.0%}", "tension": which})


def _merged(store: Store) -> Solution:
    from coprod_nb.analysis import lineage_table

    _workshop(store)
    lineage = lineage_table(store)
    merged = lineage[lineage.path.str.contains("merged into", regex=False)]
    answer = frozenset(merged.source)
    into = _names(set(merged.target.dropna()))
    return Solution(answer, {"answer": _names(answer), "into": into}, _tension_aliases(store))


# ------------------------------------------------------------------ the exercises

EXERCISES: dict[str, Exercise] = {
    e.id: e
    for e in (
        Exercise(
            id="01-a",
            section="Progress",
            question=(
                "The progress table shows counts only, so it can be shared while the notes "
                "stay blind. Which partnership has the fewest notes from the whole team so "
                "far? (If several tie, name them all.)"
            ),
            hint=(
                "Each researcher's count for a partnership appears once per transcript; add "
                "them up per partnership, e.g. `progress.drop_duplicates(['researcher', "
                "'partnership']).groupby('partnership').notes.sum()`."
            ),
            why=(
                "{answer} has the fewest notes ({notes}). A thin partnership is a prompt, not "
                "a verdict: was the conversation shorter, harder to read, or did its leader "
                "decline direct quotation so notes could only paraphrase? Raise it before the "
                "joint meeting, so no tension quietly rests on the other partnerships alone."
            ),
            kind="names",
            solve=_fewest_notes,
        ),
        Exercise(
            id="01-b",
            section="Closing step 1",
            question=(
                "Step 1 is closed, so the team's notes are visible. Which kind of "
                "auto-ethnographic data (recalled memory, self-observation, self-reflection) "
                "do the team's notes use least? (If several tie, name them all.)"
            ),
            hint=(
                "Look as any researcher now that the step is closed, e.g. count "
                "`n.kind for n in study.notes(me.value)` with `collections.Counter`."
            ),
            why=(
                "The team's notes use {answer} least ({notes} notes). Each kind sees what the "
                "others cannot: recalled memory brings our own past in, self-observation "
                "catches what we did in the room (a prompt, a silence, a word put in a "
                "participant's mouth), self-reflection asks what it meant to us. A kind the "
                "team under-uses is a blind spot to name; ask which kind your own notes avoid."
            ),
            kind="names",
            solve=_least_used_kind,
        ),
        Exercise(
            id="01-c",
            section="Closing step 1",
            question=(
                "How many of the team's notes are not anchored to any passage of a transcript?"
            ),
            hint=(
                "A note's anchors are its excerpts; with step 1 closed, "
                "`notes_table(study, me.value, researcher=name)` shows them in the `anchors` "
                "column for each researcher (empty when there are none)."
            ),
            why=(
                "{answer} of {total} notes have no anchor. That is not an error: a recalled "
                "memory need not be in the transcript, and a leader who declined quotation "
                "can only be paraphrased. But an auditor can trace an unanchored note back "
                "only through its author, so its context has to be in its text."
            ),
            kind="count",
            solve=_unanchored,
        ),
        Exercise(
            id="02-a",
            section="Compare the readings",
            question=(
                "Which partnership has the most notes in the category 'barrier', all "
                "researchers together? (If several tie, name them all.)"
            ),
            hint=(
                "`counts` is in long format: keep the barrier rows and add up per "
                "partnership, e.g. `counts[counts.category == 'barrier']"
                ".groupby('partnership').notes.sum()`."
            ),
            why=(
                "{answer} has the most barrier notes ({notes}). Before reading that as 'the "
                "partnership with the most barriers', check who wrote them: three readers "
                "seeing one barrier is different evidence from one reader seeing three. "
                "Counts tell you where to look, not what is there."
            ),
            kind="names",
            solve=_most_barriers,
        ),
        Exercise(
            id="02-b",
            section="Compare the readings",
            question=(
                "In the gaps table, which researcher is alone on the most partnership × "
                "category cells? (If several tie, name them all.)"
            ),
            hint=(
                "Each row of `gaps(study, me)` is a cell only one researcher wrote about; "
                "count the rows per researcher."
            ),
            why=(
                "{answer} saw something the others did not in {cells} cells. In reflexive "
                "analysis a gap is a question for the meeting (did the others miss it, or "
                "judge it unimportant?), and the lone reader has to make the case for it "
                "rather than be outvoted by the count."
            ),
            kind="names",
            solve=_most_gaps,
        ),
        Exercise(
            id="02-c",
            section="Evidence",
            question=(
                "Which tensions have evidence (notes or quotes) from every partnership? Give "
                "their codes."
            ),
            hint=(
                "In `matrix` (the evidence matrix, long format) a tension qualifies when its "
                "`total` is above 0 in every partnership's row; the printed pivot shows the "
                "zeros."
            ),
            why=(
                "{answer} rest on all {partnerships} partnerships. The joint meeting tests "
                "every card against every partnership so that no tension is one "
                "conversation's story; a tension with a gap ({others}) can stay, but its "
                "card should say where its evidence comes from."
            ),
            kind="names",
            solve=_every_partnership,
        ),
        Exercise(
            id="03-a",
            section="The circles",
            question=(
                "Which tensions reached the consensus threshold for the inner circle? Give "
                "their codes (or 'none')."
            ),
            hint=(
                "A ring is a consensus when at least the workshop's threshold of participants "
                "chose it: look at the `consensus` column of `circles`, or compare "
                "`share_inner` with `circles.attrs['threshold']`."
            ),
            why=(
                "{answer} reached {threshold}. The threshold was fixed when the workshop was "
                "recorded, before anyone saw a result, so it cannot be moved to fit the "
                "outcome. Even so, consensus opens the discussion; it does not decide it."
            ),
            kind="names",
            solve=_consensus_inner,
        ),
        Exercise(
            id="03-b",
            section="Decisions",
            question=(
                "Of the tensions the group decided to keep, what is the lowest share of "
                "participants who placed one of them in the inner circle?"
            ),
            hint=(
                "Find the 'keep' decisions in `decisions_table(study)`, then read their "
                "`share_inner` in `circles`; give a share as a fraction or a percentage "
                "(e.g. 0.35 or '35%')."
            ),
            why=(
                "The group kept {tension} although only {answer} placed it in the inner "
                "circle. Read the decision's rationale: the reasons written on the cards "
                "explained the placements. Numbers prompt the discussion; people decide, "
                "and the decision log records why."
            ),
            kind="share",
            solve=_kept_lowest_share,
        ),
        Exercise(
            id="03-c",
            section="Lineage",
            question=(
                "Which of the tensions were merged into another during the workshop? Give "
                "their codes (or 'none')."
            ),
            hint=(
                "The lineage table traces every initial tension; look for paths that say "
                "'merged into'."
            ),
            why=(
                "{answer} became {into}. Participants reshaped the researchers' framework, "
                "and the decision that did it names who proposed it and which cards prompted "
                "it, so an auditor can trace the final tension back to the transcripts."
            ),
            kind="names",
            solve=_merged,
        ),
    )
}


# ------------------------------------------------------------------ comparing answers

_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NONE_WORDS = {"", "none", "nothing", "no", "nobody", "no one", "neither"}
_SEPARATORS = re.compile(r"\s*(?:[,;/&+|]|\band\b)\s*")


def _norm(value: Any) -> str:
    """Case, spacing, surrounding quotes and trailing full stops do not matter."""
    text = " ".join(str(value).split()).casefold()
    return text.strip("'\"`‘’“” ").rstrip(".!").strip()


def _as_names(answer: Any, aliases: Mapping[str, str], known: set[str]) -> set[str]:
    """A set of normalised names from a string ("T4, T5 and T6") or a collection."""
    if isinstance(answer, str) or not isinstance(answer, Iterable):
        items = [answer]
    else:
        items = list(answer)
    out: set[str] = set()
    for item in items:
        text = _norm(item)
        if text in known or text in aliases:
            out.add(aliases.get(text, text))
            continue
        for part in _SEPARATORS.split(text):
            part = _norm(part)
            if part in _NONE_WORDS:
                continue
            words = part.split() if part not in known and part not in aliases else [part]
            if len(words) > 1 and all(w in known for w in words):
                out.update(words)
            else:
                out.add(aliases.get(part, part))
    return out


def _as_number(answer: Any) -> float | None:
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int | float):
        try:
            return float(answer)
        except OverflowError:  # an int too large for a float is no count or share
            return None
    text = _norm(answer)
    if text in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[text])
    ratio = re.fullmatch(r"(\d+)\s*(?:/|of|out of)\s*(\d+)", text)
    if ratio and int(ratio[2]):
        return float(Fraction(int(ratio[1]), int(ratio[2])))
    percent = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)\s*(%|percent|per cent)", text)
    if percent:
        return float(percent[1]) / 100
    with_unit = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)(?:\s+[a-z -]+)?", text)
    return float(with_unit[1]) if with_unit else None


def _matches(exercise: Exercise, solution: Solution, answer: Any) -> bool:
    if exercise.kind == "count":
        number = _as_number(answer)
        return number is not None and math.isclose(number, solution.answer, abs_tol=1e-9)
    if exercise.kind == "share":
        number = _as_number(answer)
        if number is None:
            return False
        text = answer if isinstance(answer, str) else ""
        if 1 < number <= 100 and "%" not in text and "/" not in text:
            number /= 100  # 40 meant as 40 %
        return math.isclose(number, solution.answer, abs_tol=SHARE_TOLERANCE)
    expected = {_norm(a) for a in solution.answer}
    known = expected | set(solution.aliases.values())
    return _as_names(answer, solution.aliases, known) == expected


# ------------------------------------------------------------------ the public functions


def _exercise(exercise_id: str) -> Exercise:
    key = _norm(exercise_id).replace(" ", "")
    key = re.sub(r"^(\d\d)-?([a-z])$", r"\1-\2", key)
    if key not in EXERCISES:
        raise InvalidInput(f"no exercise {exercise_id!r}; the exercises are {', '.join(EXERCISES)}")
    return EXERCISES[key]


def check(exercise_id: str, answer: Any, store: Store) -> Result:
    """Check an answer against the study the notebook works on.

    Parameters
    ----------
    exercise_id : str
        E.g. ``"01-a"`` (see :func:`exercises`).
    answer : any
        ``None`` while not answered; a name or a list of names, a number, or a share
        (0.4, ``"40%"``, ``"2/5"``). Case, spacing and order do not matter.
    store : Store
        The study; the answer is computed from it, as it stands now.

    Returns
    -------
    Result
        Displays as a friendly verdict: the question and a hint when not answered, a
        hint when wrong (never the answer), why it matters for the method when right.

    Raises
    ------
    InvalidInput
        If there is no exercise with this id.
    """
    exercise = _exercise(exercise_id)
    head = f"Exercise {exercise.id}"
    if answer is None:
        return Result(
            exercise.id,
            "unanswered",
            f"{head}: not answered yet.\n{exercise.question}\nHint: {exercise.hint}",
        )
    try:
        solution = exercise.solve(store)
    except NotReady as exc:
        return Result(exercise.id, "not ready", f"{head}: not yet: {exc}.")
    if isinstance(answer, pd.DataFrame | pd.Series):
        return Result(
            exercise.id,
            "wrong",
            f"{head}: give a plain answer (a name, a list of names or a number), not a "
            f"table.\nHint: {exercise.hint}",
        )
    if not _matches(exercise, solution, answer):
        return Result(
            exercise.id, "wrong", f"{head}: not quite, have another look.\nHint: {exercise.hint}"
        )
    why = exercise.why.format(**solution.facts)
    return Result(exercise.id, "right", f"{head}: right.\nWhy it matters: {why}")


def exercises(notebook: str | None = None) -> pd.DataFrame:
    """The exercises, optionally of one notebook (``"01"`` or ``"01_individual_recall"``).

    Returns
    -------
    DataFrame
        Columns id, notebook, section, question, hint (no answers: they come from a
        study, see :func:`check`).
    """
    rows = [
        {
            "id": e.id,
            "notebook": e.notebook,
            "section": e.section,
            "question": e.question,
            "hint": e.hint,
        }
        for e in EXERCISES.values()
        if notebook is None or e.notebook.startswith(str(notebook).removesuffix(".ipynb"))
    ]
    if notebook is not None and not rows:
        raise InvalidInput(
            f"no exercises for notebook {notebook!r}; they are in {', '.join(NOTEBOOKS.values())}"
        )
    return pd.DataFrame(rows, columns=["id", "notebook", "section", "question", "hint"])
