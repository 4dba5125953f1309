"""Tensions and frameworks: the vocabulary of steps 2 and 3, as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

TENSION_STATUSES: tuple[str, ...] = ("candidate", "agreed", "parked")
LINK_KINDS: tuple[str, ...] = ("relates to", "contradicts", "part of")


@dataclass(frozen=True)
class Pole:
    """One end of a tension's spectrum."""

    label: str

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Tension:
    """A spectrum between two poles along which a partnership's leaders can move.

    ``origin`` lists the codes of the tensions this one came from (empty for an
    initial tension); ``evidence`` holds note and excerpt ids when frozen.
    """

    code: str
    name: str
    pole_a: str
    pole_b: str
    description: str = ""
    subthemes: tuple[str, ...] = ()
    status: str = "agreed"
    proposer: str = ""
    origin: tuple[str, ...] = ()
    evidence: dict = field(default_factory=dict, compare=False)

    @property
    def poles(self) -> tuple[Pole, Pole]:
        """The two poles, A then B."""
        return Pole(self.pole_a), Pole(self.pole_b)

    @property
    def label(self) -> str:
        """``"A vs B"``, the way the method writes a tension."""
        return f"{self.pole_a} vs {self.pole_b}"

    def to_dict(self) -> dict:
        """JSON-ready form (tuples as lists)."""
        d = asdict(self)
        d["subthemes"], d["origin"] = list(self.subthemes), list(self.origin)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Tension:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        known["subthemes"] = tuple(known.get("subthemes", ()))
        known["origin"] = tuple(known.get("origin", ()))
        known["evidence"] = dict(known.get("evidence") or {})
        return cls(**known)

    def with_(self, **changes) -> Tension:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Framework:
    """An ordered set of tensions, optionally a frozen version."""

    tensions: tuple[Tension, ...]
    version: int | None = None
    label: str = ""

    @property
    def codes(self) -> list[str]:
        return [t.code for t in self.tensions]

    def get(self, code: str) -> Tension:
        """The tension with this code (KeyError if none)."""
        for t in self.tensions:
            if t.code == code:
                return t
        raise KeyError(code)

    def __contains__(self, code: str) -> bool:
        return any(t.code == code for t in self.tensions)

    def __len__(self) -> int:
        return len(self.tensions)


def compare_frameworks(old: Framework, new: Framework) -> list[dict]:
    """What changed between two frameworks: one row per added, removed or changed tension.

    Each row: ``code``, ``change`` (added / removed / changed) and ``fields`` (the
    names of the changed fields, for "changed").
    """
    rows: list[dict] = []
    fields = ("name", "pole_a", "pole_b", "description", "subthemes", "status")
    for t in new.tensions:
        if t.code not in old:
            rows.append({"code": t.code, "change": "added", "fields": []})
            continue
        before = old.get(t.code)
        changed = [f for f in fields if getattr(before, f) != getattr(t, f)]
        if changed:
            rows.append({"code": t.code, "change": "changed", "fields": changed})
    rows += [
        {"code": t.code, "change": "removed", "fields": []}
        for t in old.tensions
        if t.code not in new
    ]
    return rows
