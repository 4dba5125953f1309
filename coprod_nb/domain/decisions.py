"""Step 3 decisions: the explicit, recorded changes that turn one framework into the next.

A workshop changes the framework only by decisions (add, rename, reword, merge, split,
fold, drop, keep, set sub-themes), each with a rationale and what prompted it. This
module applies them to a :class:`~coprod_nb.domain.framework.Framework`, replays a log of
them, traces each tension's lineage, and reads and writes the plain-file decision log
(TOML ``[[decisions]]`` tables, see ``docs/decision-log.md``).

Standard library only: the writer uses the project's small TOML string writer
(:mod:`coprod_nb.domain.toml_text`), because the standard library parses TOML
(``tomllib``) but cannot write it.
"""

from __future__ import annotations

import datetime as _dt
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field

from coprod_nb.domain.framework import Framework, Tension
from coprod_nb.domain.toml_text import load_toml, toml_basic, toml_string
from coprod_nb.errors import InvalidInput

__all__ = [
    "DECISION_KINDS",
    "Decision",
    "DecisionError",
    "LineageEdge",
    "apply",
    "check_decisions",
    "decision_codes",
    "lineage",
    "read_decision_log",
    "replay",
    "validate_decision",
    "write_decision_log",
]

DECISION_KINDS: tuple[str, ...] = (
    "add",
    "rename",
    "reword",
    "merge",
    "split",
    "fold",
    "drop",
    "keep",
    "subthemes",
)

# Kinds that act on exactly one existing tension (merge acts on two or more, add on none).
_SINGLE = frozenset(DECISION_KINDS) - {"add", "merge"}

# The content fields each kind uses: required ones, then optional ones. Anything else
# given with a kind is refused rather than silently ignored, so that a facilitator who
# writes `name = ...` on a reword learns that it would not rename the tension.
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "add": (("code", "name", "pole_a", "pole_b"), ("description", "subthemes")),
    "rename": (("name",), ()),
    "reword": ((), ("pole_a", "pole_b", "description")),
    "merge": (("code", "name", "pole_a", "pole_b"), ("description", "subthemes")),
    "split": (("parts",), ()),
    "fold": (("into",), ("subtheme",)),
    "drop": ((), ()),
    "keep": ((), ()),
    "subthemes": (("subthemes",), ()),
}
_CONTENT = ("code", "name", "pole_a", "pole_b", "description", "subthemes", "into", "subtheme")


def decision_fields(kind: str) -> tuple[str, ...]:
    """The content fields a decision of ``kind`` uses (required first, then optional)."""
    if kind not in _FIELDS:
        raise DecisionError(f"unknown decision kind {kind!r}")
    required, optional = _FIELDS[kind]
    return required + optional


class DecisionError(InvalidInput):
    """A decision that cannot be read or applied.

    Parameters
    ----------
    problem : str
        What is wrong.
    ref : str, optional
        The decision's id (``"D3"``); names the place when ``place`` is not given.
    file, place : str, optional
        As for :class:`~coprod_nb.errors.InvalidInput`.
    """

    def __init__(
        self,
        problem: str,
        *,
        ref: str | None = None,
        file: str | None = None,
        place: str | None = None,
    ):
        self.ref = ref
        if place is None and ref:
            place = f"decision {ref}"
        super().__init__(problem, file=file, place=place)


@dataclass(frozen=True)
class Decision:
    """One recorded change to the framework.

    ``None`` in a content field means "not given" (so a merge without ``subthemes``
    takes the union of its targets' sub-themes, while ``subthemes=()`` means none).
    Lists passed for tuple fields are turned into tuples.

    Attributes
    ----------
    kind : str
        One of :data:`DECISION_KINDS`.
    ref : str
        The decision's id in the log, e.g. ``"D2"``.
    targets : tuple of str
        Codes acted on: none for add, two or more for merge, exactly one otherwise.
    code, name, pole_a, pole_b, description : str or None
        The new tension's fields (add, merge); ``name`` for rename; poles and
        description for reword.
    subthemes : tuple of str or None
        Sub-themes of the new tension (add, merge) or the new list (subthemes).
    into, subtheme : str or None
        Fold: the receiving code, and the new sub-theme's label (default: the folded
        tension's name).
    parts : tuple of Tension
        Split: the tensions that replace the target, each with a new code.
    rationale, proposer : str
        Why, and who proposed it.
    date : datetime.date or None
        When it was decided.
    prompted_by : tuple of str
        What prompted it: ``"poll"``, ``"circles"``, ``"response:Kit Moreland:T3"``, ...
    reverted : bool
        A reverted decision stays in the log but is skipped by :func:`replay`.
    """

    kind: str
    ref: str = ""
    targets: tuple[str, ...] = ()
    code: str | None = None
    name: str | None = None
    pole_a: str | None = None
    pole_b: str | None = None
    description: str | None = None
    subthemes: tuple[str, ...] | None = None
    into: str | None = None
    subtheme: str | None = None
    parts: tuple[Tension, ...] = ()
    rationale: str = ""
    proposer: str = ""
    date: _dt.date | None = None
    prompted_by: tuple[str, ...] = ()
    reverted: bool = False

    def __post_init__(self):
        # Frozen, so normalise through object.__setattr__: lists from JSON or a form
        # would otherwise make equal decisions compare unequal.
        for name in ("targets", "parts", "prompted_by"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.subthemes is not None:
            object.__setattr__(self, "subthemes", tuple(self.subthemes))

    def to_dict(self) -> dict:
        """JSON-ready form: tuples as lists, the date as an ISO string, parts as dicts."""
        return {
            "kind": self.kind,
            "ref": self.ref,
            "targets": list(self.targets),
            "code": self.code,
            "name": self.name,
            "pole_a": self.pole_a,
            "pole_b": self.pole_b,
            "description": self.description,
            "subthemes": None if self.subthemes is None else list(self.subthemes),
            "into": self.into,
            "subtheme": self.subtheme,
            "parts": [p.to_dict() for p in self.parts],
            "rationale": self.rationale,
            "proposer": self.proposer,
            "date": self.date.isoformat() if self.date else None,
            "prompted_by": list(self.prompted_by),
            "reverted": self.reverted,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Decision:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        known["parts"] = tuple(
            p if isinstance(p, Tension) else Tension.from_dict(p) for p in known.get("parts", ())
        )
        if isinstance(known.get("date"), str):
            known["date"] = _dt.date.fromisoformat(known["date"])
        return cls(**known)

    def summary(self) -> str:
        """One line, e.g. ``"merge T4, T5, T6 → T8 'Individual motivation vs ...'"``."""
        k, t = self.kind, ", ".join(self.targets)
        if k == "add":
            text = f"add {self.code} {_q(self.name)}"
        elif k == "merge":
            text = f"merge {t} → {self.code} {_q(self.name)}"
        elif k == "rename":
            text = f"rename {t} → {_q(self.name)}"
        elif k == "reword":
            changed = [
                f"{label} → {_q(value)}"
                for label, value in (
                    ("pole A", self.pole_a),
                    ("pole B", self.pole_b),
                    ("description", self.description),
                )
                if value is not None
            ]
            text = f"reword {t}: " + "; ".join(changed)
        elif k == "split":
            text = f"split {t} → " + ", ".join(f"{p.code} {_q(p.name)}" for p in self.parts)
        elif k == "fold":
            label = f" as sub-theme {_q(self.subtheme)}" if self.subtheme else " as a sub-theme"
            text = f"fold {t} into {self.into}{label}"
        elif k == "subthemes":
            text = f"sub-themes of {t} → " + "; ".join(_q(s) for s in self.subthemes or ())
        else:
            text = f"{k} {t}"
        return text + (" (reverted)" if self.reverted else "")


def _q(text: str | None) -> str:
    """Quote a name for a summary line, shortened so the line stays one line."""
    text = " ".join((text or "").split())
    return f"'{text if len(text) <= 80 else text[:77] + '...'}'"


# ---------------------------------------------------------------------- validation


def validate_decision(decision: Decision) -> None:
    """Check a decision on its own (before any framework): kind, targets, required fields.

    Raises
    ------
    DecisionError
        Naming the decision's ref and the problem.
    """
    d = decision

    def fail(problem: str):
        raise DecisionError(problem, ref=d.ref or d.kind)

    if d.kind not in DECISION_KINDS:
        fail(f"unknown kind {d.kind!r} (one of {', '.join(DECISION_KINDS)})")
    for code in d.targets:
        if not isinstance(code, str) or not code.strip():
            fail(f"target codes must be non-empty strings (got {code!r})")
    n = len(d.targets)
    if d.kind == "add" and n:
        fail("an add names no target (give the new tension's code)")
    if d.kind == "merge":
        if n < 2:
            fail(f"a merge needs at least two targets (got {n})")
        if len(set(d.targets)) < n:
            fail(f"a merge names a target twice ({', '.join(d.targets)})")
    if d.kind in _SINGLE and n != 1:
        fail(f"a {d.kind} acts on exactly one target (got {n})")

    required, optional = _FIELDS[d.kind]
    for name in _CONTENT:
        value = getattr(d, name)
        if name in required and value is None:
            fail(f"a {d.kind} needs {name}")
        if name not in required + optional and value:
            fail(f"{name} does not apply to a {d.kind} decision")
    if d.parts and d.kind != "split":
        fail(f"parts do not apply to a {d.kind} decision")
    # Names, poles and codes are what people read on the cards: never blank.
    for name in ("code", "name", "pole_a", "pole_b", "into", "subtheme"):
        value = getattr(d, name)
        if (name in required + optional) and value is not None:
            if not isinstance(value, str) or not value.strip():
                fail(f"{name} must not be empty")
    if d.description is not None and not isinstance(d.description, str):
        fail("description must be a string")
    if d.kind == "reword" and d.pole_a is None and d.pole_b is None and d.description is None:
        fail("a reword needs pole_a, pole_b or description")
    if d.subthemes is not None:
        _check_subthemes(d.subthemes, fail)
    if d.kind == "fold" and d.into == d.targets[0]:
        fail(f"cannot fold {d.into} into itself")
    if d.kind == "split":
        _check_parts(d, fail)
    if d.date is not None and (
        not isinstance(d.date, _dt.date) or isinstance(d.date, _dt.datetime)
    ):
        fail(f"date must be a date (got {d.date!r})")
    if not isinstance(d.reverted, bool):
        fail(f"reverted must be true or false (got {d.reverted!r})")


def _check_subthemes(subthemes, fail, where: str = "") -> None:
    seen: set[str] = set()
    for s in subthemes:
        if not isinstance(s, str) or not s.strip():
            fail(f"{where}sub-themes must be non-empty strings (got {s!r})")
        if s in seen:
            fail(f"{where}sub-theme {s!r} is listed twice")
        seen.add(s)


def _check_parts(d: Decision, fail) -> None:
    if len(d.parts) < 2:
        fail(f"a split needs at least two parts (got {len(d.parts)})")
    codes: set[str] = set()
    for i, p in enumerate(d.parts, 1):
        if not isinstance(p, Tension):
            fail(f"part {i} is not a Tension")
        for name in ("code", "name", "pole_a", "pole_b"):
            value = getattr(p, name)
            if not isinstance(value, str) or not value.strip():
                fail(f"part {i}: {name} must not be empty")
        if p.code in codes:
            fail(f"part {i}: code {p.code} is used by two parts")
        codes.add(p.code)
        _check_subthemes(p.subthemes, fail, f"part {i}: ")


# ---------------------------------------------------------------------- applying


def apply(framework: Framework, decision: Decision) -> Framework:
    """The framework after one decision (pure: ``framework`` is not changed).

    Parameters
    ----------
    framework : Framework
        The framework the decision acts on.
    decision : Decision
        Applied even if ``reverted`` (skipping reverted decisions is :func:`replay`'s job).

    Returns
    -------
    Framework
        A new, unversioned framework labelled ``"current"``; a keep returns
        ``framework`` itself.

    Raises
    ------
    DecisionError
        If the decision cannot apply (unknown target, code already taken, ...).
    """
    validate_decision(decision)
    d, k = decision, decision.kind
    ref = d.ref or d.kind

    def need(code: str) -> Tension:
        if code not in framework:
            raise DecisionError(
                f"{code} is not in the framework (it has {', '.join(framework.codes) or 'none'})",
                ref=ref,
            )
        return framework.get(code)

    def free(code: str, allowed: Iterable[str] = ()) -> None:
        if code in framework and code not in allowed:
            raise DecisionError(
                f"code {code} is already taken by {framework.get(code).name!r}", ref=ref
            )

    tensions = list(framework.tensions)
    if k == "add":
        free(d.code)
        tensions.append(
            Tension(
                code=d.code,
                name=d.name,
                pole_a=d.pole_a,
                pole_b=d.pole_b,
                description=d.description or "",
                subthemes=d.subthemes or (),
                proposer=d.proposer,
            )
        )
        return _current(tensions)
    if k == "merge":
        olds = [need(c) for c in d.targets]
        free(d.code, allowed=d.targets)
        subthemes = d.subthemes
        if subthemes is None:
            subthemes = tuple(dict.fromkeys(s for t in olds for s in t.subthemes))
        merged = Tension(
            code=d.code,
            name=d.name,
            pole_a=d.pole_a,
            pole_b=d.pole_b,
            description=d.description or "",
            subthemes=subthemes,
            proposer=d.proposer,
            origin=d.targets,
            evidence=_union_evidence(*(t.evidence for t in olds)),
        )
        out = []
        for t in tensions:
            if t.code == d.targets[0]:
                out.append(merged)
            elif t.code not in d.targets:
                out.append(t)
        return _current(out)

    target = need(d.targets[0])
    at = tensions.index(target)
    if k == "keep":
        return framework
    if k == "rename":
        tensions[at] = target.with_(name=d.name)
    elif k == "reword":
        changes = {f: getattr(d, f) for f in ("pole_a", "pole_b", "description")}
        tensions[at] = target.with_(**{f: v for f, v in changes.items() if v is not None})
    elif k == "subthemes":
        tensions[at] = target.with_(subthemes=d.subthemes)
    elif k == "drop":
        del tensions[at]
    elif k == "split":
        for p in d.parts:
            free(p.code, allowed=(target.code,))
        tensions[at : at + 1] = [
            p.with_(
                origin=(target.code,),
                proposer=p.proposer or d.proposer,
                evidence=_union_evidence(target.evidence),
            )
            for p in d.parts
        ]
    elif k == "fold":
        into = need(d.into)
        label = d.subtheme or target.name
        subthemes = into.subthemes + (() if label in into.subthemes else (label,))
        evidence = _union_evidence(into.evidence, target.evidence)
        tensions[tensions.index(into)] = into.with_(subthemes=subthemes, evidence=evidence)
        del tensions[at]
    return _current(tensions)


def _current(tensions) -> Framework:
    return Framework(tuple(tensions), version=None, label="current")


def _union_evidence(*evidence: dict) -> dict:
    """Evidence dicts combined key by key: lists joined in order without duplicates.

    Always returns new lists, so tensions never share a mutable evidence list.
    """
    out: dict = {}
    for ev in evidence:
        for key, items in (ev or {}).items():
            if isinstance(items, list | tuple):
                merged = out.setdefault(key, [])
                for item in items:
                    if item not in merged:
                        merged.append(item)
            else:
                out.setdefault(key, items)
    return out


def replay(framework: Framework, decisions: Iterable[Decision]) -> Framework:
    """Apply decisions in order, skipping reverted ones.

    Returns
    -------
    Framework
        Unversioned (``version=None``) and labelled ``"current"``.
    """
    for d in decisions:
        if not d.reverted:
            framework = apply(framework, d)
    return _current(framework.tensions)


def check_decisions(
    framework: Framework, decisions: Iterable[Decision], *, taken_refs: Iterable[str] = ()
) -> Framework:
    """Check a sequence of decisions whole, as it would be recorded after ``framework``.

    Every rule is checked for every decision before anything is written: it applies to
    the framework the earlier ones leave, it has an id not used before (``taken_refs``
    or earlier in the sequence) and a rationale. A reverted decision must apply where
    it stands, and the later ones are checked without it. Each decision is applied once
    to the running framework, so the check takes time linear in the sequence's length.

    Returns
    -------
    Framework
        The framework after the decisions (reverted ones skipped).

    Raises
    ------
    DecisionError
        For the first decision that breaks a rule, naming its id and the problem.
    """
    seen = set(taken_refs)
    current = framework
    for d in decisions:
        ref = d.ref or d.kind
        if d.ref and d.ref in seen:
            raise DecisionError(
                "a decision with this id is already recorded (or earlier in this log)", ref=ref
            )
        if not (d.rationale or "").strip():
            raise DecisionError("a decision needs a rationale (why it was taken)", ref=ref)
        after = apply(current, d)  # raises DecisionError naming the problem
        if not d.reverted:
            current = after
        if d.ref:
            seen.add(d.ref)
    return _current(current.tensions)


def decision_codes(decision: Decision) -> set[str]:
    """Every tension code a decision names: its targets, new code, split parts, fold target.

    A code named here is part of the record (the log and the lineage use it), so it is
    never given to another tension.
    """
    d = decision
    codes = {*d.targets, *(p.code for p in d.parts)}
    codes.update(c for c in (d.code, d.into) if c)
    return {c for c in codes if isinstance(c, str)}


# ---------------------------------------------------------------------- lineage


@dataclass(frozen=True)
class LineageEdge:
    """Where one origin tension ended up.

    ``source`` is an initial code or one added by an add decision; ``target`` is a
    final code, or None if the tension was dropped; ``path`` says what happened, in
    order (``"added"``, ``"renamed"``, ``"merged into T8"``, ``"folded into T3"``,
    ``"received T7 (folded)"``, ``"split into T9"``, ``"dropped"``, ...).
    """

    source: str
    target: str | None
    path: tuple[str, ...]


@dataclass
class _Branch:
    source: str
    current: str | None
    path: list[str] = field(default_factory=list)
    folded: bool = False  # now a sub-theme of `current`, no longer a tension of its own

    def then(self, current: str | None, step: str, folded: bool = False) -> _Branch:
        return _Branch(self.source, current, [*self.path, step], self.folded or folded)


_STEP = {
    "rename": "renamed",
    "reword": "reworded",
    "keep": "kept",
    "subthemes": "sub-themes changed",
}


def lineage(initial: Framework, decisions: Iterable[Decision]) -> list[LineageEdge]:
    """Trace every origin tension through the decisions to its final code.

    Origin nodes are the initial tensions and those added by add decisions; split
    parts are destinations, not origins. Reverted decisions are ignored. A tension no
    decision touched has path ``("unchanged",)``; one that received a fold says so
    (``"received T7 (folded)"``), as it gained a sub-theme. Once folded, a tension is a sub-theme:
    it follows its receiver through merges, folds, splits and drops, but the receiver's
    renames, rewordings, keeps and sub-theme changes stay off its path.

    Returns
    -------
    list of LineageEdge
        One per (origin, final code), initial tensions first, in framework order, then
        added ones in the order they were added. When a split tension's parts meet
        again (e.g. merged back), the one edge keeps the path of the first part.

    Raises
    ------
    DecisionError
        If a decision cannot apply (the decisions are replayed alongside).
    """
    branches = [_Branch(code, code) for code in initial.codes]
    framework = initial
    for d in decisions:
        if d.reverted:
            continue
        framework = apply(framework, d)  # validates, so the walk below can trust d
        k = d.kind
        if k == "add":
            branches.append(_Branch(d.code, d.code, ["added"]))
            continue
        next_branches: list[_Branch] = []
        for b in branches:
            if b.current is None or b.current not in d.targets:
                next_branches.append(b)
            elif k == "merge":
                next_branches.append(b.then(d.code, f"merged into {d.code}"))
            elif k == "fold":
                next_branches.append(b.then(d.into, f"folded into {d.into}", folded=True))
            elif k == "drop":
                next_branches.append(b.then(None, "dropped"))
            elif k == "split":
                next_branches += [b.then(p.code, f"split into {p.code}") for p in d.parts]
            elif b.folded:
                # Edits to the receiving tension's wording are its own history, not the
                # folded sub-theme's; moves (merge, fold, split, drop) carry it along.
                next_branches.append(b)
            else:
                next_branches.append(b.then(b.current, _STEP[k]))
        # The receiver of a fold is changed too: it gains a sub-theme (and evidence).
        if k == "fold":
            step = f"received {d.targets[0]} (folded)"
            next_branches = [
                b.then(b.current, step) if b.current == d.into and not b.folded else b
                for b in next_branches
            ]
        # One edge per (origin, code): branches of one origin that meet again become one.
        seen: set[tuple[str, str | None]] = set()
        branches = []
        for b in next_branches:
            if (b.source, b.current) not in seen:
                seen.add((b.source, b.current))
                branches.append(b)
    return [LineageEdge(b.source, b.current, tuple(b.path) or ("unchanged",)) for b in branches]


# ---------------------------------------------------------------------- the plain-file log

_TOP_KEYS = ("id", "kind", "target", "targets")
_STR_KEYS = ("code", "name", "pole_a", "pole_b", "description", "into", "subtheme")
_COMMON_KEYS = ("rationale", "proposer", "date", "prompted_by", "reverted")
_FILE_KEYS = (*_TOP_KEYS, *_STR_KEYS, "subthemes", "parts", *_COMMON_KEYS)
_PART_KEYS = ("code", "name", "pole_a", "pole_b", "description", "subthemes")
_PART_REQUIRED = ("code", "name", "pole_a", "pole_b")
_TOML_LOCATION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _EntryError(Exception):
    """A problem in one [[decisions]] entry; wrapped with the entry's place by the reader."""


def read_decision_log(text: str, *, source: str = "decision log") -> list[Decision]:
    """Read the ``[[decisions]]`` tables of a TOML decision log.

    Other top-level keys are ignored, so a whole workshop file (such as the demo's
    ``workshop.toml``) can be read as it is. A file without ``[[decisions]]`` gives an
    empty list.

    Parameters
    ----------
    text : str
        The file's text.
    source : str
        The file's name, for error messages.

    Raises
    ------
    DecisionError
        For a TOML syntax error (naming the line) or an entry that is not a valid
        decision (naming ``source``, e.g. ``"[[decisions]] entry 3, D3"`` and the problem).
    """
    try:
        data = load_toml(text, file=source)  # size and nesting checked first
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_LOCATION.search(message)
        place = f"line {m.group(1)}, column {m.group(2)}" if m else None
        problem = message[: m.start()] if m else message
        raise DecisionError(f"not valid TOML: {problem}", file=source, place=place) from None
    # A misspelt table name would otherwise read as an empty log without a word.
    for key in data:
        if key != "decisions" and key.lower() in ("decision", "decisions"):
            raise DecisionError(
                f"found [[{key}]]: decision entries must be [[decisions]] tables", file=source
            )
    entries = data.get("decisions", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DecisionError("decisions must be written as [[decisions]] tables", file=source)
    decisions: list[Decision] = []
    first_entry: dict[str, int] = {}
    for i, entry in enumerate(entries, 1):
        ref = entry.get("id") if isinstance(entry.get("id"), str) else None
        place = f"[[decisions]] entry {i}" + (f", {ref}" if ref else "")
        try:
            decision = _decision_of_entry(entry)
            validate_decision(decision)
            if ref in first_entry:
                raise _EntryError(f"id {ref} is already used by entry {first_entry[ref]}")
        except (_EntryError, DecisionError) as exc:
            problem = exc.problem if isinstance(exc, DecisionError) else str(exc)
            raise DecisionError(problem, ref=ref, file=source, place=place) from None
        first_entry[ref] = i
        decisions.append(decision)
    return decisions


def _type_name(value) -> str:
    """The TOML name of a value's type, for messages a facilitator understands."""
    for kind, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (str, "string"),
        (_dt.datetime, "date-time"),
        (_dt.date, "date"),
        (_dt.time, "time"),
        (list, "array"),
        (dict, "table"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _string(table: dict, key: str, where: str = "") -> str | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, str):
        raise _EntryError(f"{where}{key} must be a string (got {_type_name(value)} {value!r})")
    return value


def _strings(table: dict, key: str, where: str = "") -> tuple[str, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _EntryError(
            f'{where}{key} must be a list of strings, like ["a", "b"] (got {value!r})'
        )
    return tuple(value)


def _date(entry: dict) -> _dt.date | None:
    if "date" not in entry:
        return None
    value = entry["date"]
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value  # a bare TOML date, 2021-11-10 without quotes
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _EntryError(f'date {value!r} is not a date: write it as "YYYY-MM-DD"')


def _decision_of_entry(entry: dict) -> Decision:
    """A Decision from one [[decisions]] table; raises _EntryError on shape and type errors."""
    unknown = [k for k in entry if k not in _FILE_KEYS]
    if unknown:
        raise _EntryError(f"unknown key {unknown[0]!r} (known keys: {', '.join(_FILE_KEYS)})")
    for key in ("id", "kind"):
        if key not in entry:
            raise _EntryError(f"missing key {key!r}")
    ref, kind = _string(entry, "id"), _string(entry, "kind")
    if not ref.strip():
        raise _EntryError("id must not be empty")
    if kind not in DECISION_KINDS:
        raise _EntryError(f"unknown kind {kind!r} (one of {', '.join(DECISION_KINDS)})")

    required, optional = _FIELDS[kind]
    target_keys = () if kind == "add" else ("targets",) if kind == "merge" else ("target",)
    needed = (*target_keys, *required)
    # A single-target kind may also be written with a one-item `targets` list.
    given = {*entry, "target"} if kind in _SINGLE and "targets" in entry else set(entry)
    missing = [k for k in needed if k not in given]
    if missing:
        raise _EntryError(
            f"missing key {missing[0]!r} (a {kind} needs {', '.join(needed) or 'no keys'})"
        )
    allowed = {*needed, *optional, *_COMMON_KEYS, "id", "kind"}
    if kind in _SINGLE:
        allowed.add("targets")
    for key in entry:
        if key not in allowed:
            raise _EntryError(f"key {key!r} does not apply to a {kind} decision")
    if "target" in entry and "targets" in entry:
        raise _EntryError("give target or targets, not both")

    targets = _strings(entry, "targets")
    if targets is None:
        target = _string(entry, "target")
        targets = (target,) if target is not None else ()
    parts = entry.get("parts", [])
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise _EntryError("parts must be [[decisions.parts]] tables")
    reverted = entry.get("reverted", False)
    if not isinstance(reverted, bool):
        raise _EntryError(f"reverted must be true or false (got {reverted!r})")
    return Decision(
        kind=kind,
        ref=ref,
        targets=targets,
        **{k: _string(entry, k) for k in _STR_KEYS},
        subthemes=_strings(entry, "subthemes"),
        parts=tuple(_part(p, i) for i, p in enumerate(parts, 1)),
        rationale=_string(entry, "rationale") or "",
        proposer=_string(entry, "proposer") or "",
        date=_date(entry),
        prompted_by=_strings(entry, "prompted_by") or (),
        reverted=reverted,
    )


def _part(table: dict, i: int) -> Tension:
    where = f"part {i}: "
    for key in table:
        if key not in _PART_KEYS:
            raise _EntryError(f"{where}unknown key {key!r} (known keys: {', '.join(_PART_KEYS)})")
    for key in _PART_REQUIRED:
        if key not in table:
            raise _EntryError(f"{where}missing key {key!r}")
    return Tension(
        **{k: _string(table, k, where) for k in _PART_REQUIRED},
        description=_string(table, "description", where) or "",
        subthemes=_strings(table, "subthemes", where) or (),
    )


def write_decision_log(decisions: Iterable[Decision]) -> str:
    """The decisions as a TOML decision log that :func:`read_decision_log` reads back equal.

    Keys are written in the documented order and only when given; text with line
    breaks is written as a multi-line string. Split parts carry only code, name,
    poles, description and sub-themes (the rest is set when the split is applied).

    Raises
    ------
    DecisionError
        For an invalid decision, one without an id, or two with the same id.
    """
    out = [
        "# Decision log: the framework changes by these decisions, applied in order.",
        "# Format: docs/decision-log.md. A reverted decision stays here with reverted = true.",
    ]
    seen: set[str] = set()
    for d in decisions:
        validate_decision(d)
        if not d.ref or not d.ref.strip():
            raise DecisionError(f"a decision in a log needs an id ({d.summary()})")
        if d.ref in seen:
            raise DecisionError("id is used by two decisions", ref=d.ref)
        seen.add(d.ref)
        out += ["", "[[decisions]]"]
        out += _pair("id", d.ref) + _pair("kind", d.kind)
        if d.kind == "merge":
            out += _pair("targets", list(d.targets))
        elif d.targets:
            out += _pair("target", d.targets[0])
        for key in _STR_KEYS:
            out += _pair(key, getattr(d, key))
        out += _pair("subthemes", None if d.subthemes is None else list(d.subthemes))
        out += _pair("rationale", d.rationale or None)
        out += _pair("proposer", d.proposer or None)
        out += _pair("date", d.date.isoformat() if d.date else None)
        out += _pair("prompted_by", list(d.prompted_by) or None)
        if d.reverted:
            out.append("reverted = true")
        # Sub-tables last: in TOML every key after [[decisions.parts]] belongs to the part.
        for p in d.parts:
            out += ["", "[[decisions.parts]]"]
            for key in _PART_KEYS:
                value = getattr(p, key)
                out += _pair(key, list(value) if key == "subthemes" else value)
    return "\n".join(out) + "\n"


def _pair(key: str, value) -> list[str]:
    """``key = value`` lines (none for None): a string or a list of strings."""
    if value is None:
        return []
    try:
        if isinstance(value, str):
            return [f"{key} = {toml_string(value)}"]
        items = [toml_basic(v) for v in value]
    except InvalidInput as exc:
        raise DecisionError(exc.problem) from None
    one_line = f"{key} = [{', '.join(items)}]"
    if len(one_line) <= 100:
        return [one_line]
    return [f"{key} = [", *(f"    {item}," for item in items), "]"]
