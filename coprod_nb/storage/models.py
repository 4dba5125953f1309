"""SQLAlchemy tables of a study.

One database holds one study. Every change goes through a repository, which writes an
:class:`Event` row in the same transaction (see :mod:`coprod_nb.storage.events`).
"""

# No ``from __future__ import annotations`` here: with it every ``Mapped[...]`` is a
# string that SQLAlchemy evaluates again while declaring the class, about 15% of the
# time the notebooks' import line spends on this module (docs/performance.md). Forward
# references to a later class are quoted instead.
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints make migrations reproducible on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Study(Base):
    """The one study of this database, with its settings."""

    __tablename__ = "study"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)


class Partnership(Base):
    """A collaborative research partnership: one case of the study."""

    __tablename__ = "partnership"
    id: Mapped[int] = mapped_column(primary_key=True)
    short: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)


class Researcher(Base):
    """A member of the research team (also a speaker when interviewing)."""

    __tablename__ = "researcher"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)  # pseudonym shown everywhere
    login: Mapped[str | None] = mapped_column(String(120), unique=True)
    lead: Mapped[bool] = mapped_column(Boolean, default=False)


class Participant(Base):
    """A partnership leader interviewed once, later a workshop participant."""

    __tablename__ = "participant"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)  # pseudonym
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnership.id", ondelete="SET NULL")
    )
    role: Mapped[str] = mapped_column(String(200), default="")
    consent_record: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_quote: Mapped[bool] = mapped_column(Boolean, default=False)
    partnership: Mapped["Partnership | None"] = relationship()


class NameKey(Base):
    """Real name -> pseudonym. Read only by pseudonymisation, never by an export."""

    __tablename__ = "name_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    real_name: Mapped[str] = mapped_column(String(200), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(200))


class Transcript(Base):
    """A recorded conversation, stored as speaker turns."""

    __tablename__ = "transcript"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnership.id", ondelete="SET NULL")
    )
    date: Mapped["date | None"] = mapped_column(Date)  # quoted: "date" is this column here
    source_name: Mapped[str] = mapped_column(String(300))
    source_format: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    imported_by: Mapped[str] = mapped_column(String(120), default="")
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)  # canonical text; excerpts are offsets into it
    # The recording, relative to the study folder (storage/media.py checks it stays inside).
    media_path: Mapped[str | None] = mapped_column(String(500))
    # Digest of the name key last re-applied and the text it gave (migration 0012): a
    # re-apply skips the transcript while both are the same. Deferred: only the re-apply
    # reads it (and a study stamped while 0012 was a placeholder has no such column).
    key_digest: Mapped[str | None] = mapped_column(String(64), deferred=True)
    partnership: Mapped["Partnership | None"] = relationship()
    turns: Mapped[list["Turn"]] = relationship(
        back_populates="transcript", cascade="all, delete-orphan", order_by="Turn.seq"
    )


class TranscriptPerson(Base):
    """Who took part in a conversation: participants, and researchers as interviewers."""

    __tablename__ = "transcript_person"
    __table_args__ = (
        UniqueConstraint("transcript_id", "participant_id", "researcher_id", name="person"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE")
    )
    researcher_id: Mapped[int | None] = mapped_column(
        ForeignKey("researcher.id", ondelete="CASCADE")
    )


class Turn(Base):
    """One speaker turn: who spoke, what was said, when (if known)."""

    __tablename__ = "turn"
    __table_args__ = (UniqueConstraint("transcript_id", "seq", name="seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcript.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(200))  # pseudonymised label
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL")
    )
    researcher_id: Mapped[int | None] = mapped_column(
        ForeignKey("researcher.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    start_ms: Mapped[int | None] = mapped_column(Integer)
    end_ms: Mapped[int | None] = mapped_column(Integer)
    char_start: Mapped[int] = mapped_column(Integer)  # offsets of text in Transcript.text
    char_end: Mapped[int] = mapped_column(Integer)
    transcript: Mapped["Transcript"] = relationship(back_populates="turns")


class Excerpt(Base):
    """A span of a transcript's canonical text, valid however it is displayed."""

    __tablename__ = "excerpt"
    # A page of the reader asks for the excerpts overlapping a range of offsets (0016).
    __table_args__ = (Index("ix_excerpt_transcript_start", "transcript_id", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcript.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)  # the quoted span, kept to detect drift
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Event(Base):
    """Append-only log: who did what to which object, when, before and after."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(Text, default="")


class Note(Base):
    """A researcher's step-1 reflection on a partnership (practice, barrier, ...)."""

    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    researcher_id: Mapped[int] = mapped_column(ForeignKey("researcher.id"), index=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"), index=True)
    category: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    excerpts: Mapped[list["Excerpt"]] = relationship(
        secondary="note_excerpt", order_by="Excerpt.start"
    )


class NoteExcerpt(Base):
    """A note anchored to an excerpt (a note may have several anchors)."""

    __tablename__ = "note_excerpt"
    note_id: Mapped[int] = mapped_column(
        ForeignKey("note.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed on its own (migration 0010): a transcript page asks which notes anchor the
    # excerpts on it, and the primary key leads with note_id.
    excerpt_id: Mapped[int] = mapped_column(
        ForeignKey("excerpt.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class NoteVersion(Base):
    """The content a note had before an edit made after step 1 closed."""

    __tablename__ = "note_version"
    __table_args__ = (UniqueConstraint("note_id", "version", name="version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("note.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(DateTime)


class Reading(Base):
    """A researcher marked a transcript as read."""

    __tablename__ = "reading"
    __table_args__ = (UniqueConstraint("researcher_id", "transcript_id", name="reader"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    researcher_id: Mapped[int] = mapped_column(ForeignKey("researcher.id", ondelete="CASCADE"))
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcript.id", ondelete="CASCADE"))
    read_at: Mapped[datetime] = mapped_column(DateTime)


class StepClosure(Base):
    """A step of the method closed by the lead, with a snapshot of what it produced."""

    __tablename__ = "step_closure"
    id: Mapped[int] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(String(40), unique=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime)
    closed_by: Mapped[str] = mapped_column(String(120))
    # Deferred: megabytes of JSON in a large study, and most readers only ask whether
    # the step is closed (Store.step_closure loads it when asked).
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict, deferred=True)


class Meeting(Base):
    """A dated joint interpretation meeting of the research team."""

    __tablename__ = "meeting"
    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped["date"] = mapped_column(Date)  # quoted: "date" is this column here
    title: Mapped[str] = mapped_column(String(200), default="Joint interpretation meeting")
    attendees: Mapped[list] = mapped_column(JSON, default=list)  # researcher names
    minutes: Mapped[str] = mapped_column(Text, default="")
    dissents: Mapped[list["Dissent"]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Dissent.id"
    )


class Dissent(Base):
    """A disagreement in a meeting: the positions taken and how it was settled (or not)."""

    __tablename__ = "dissent"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(Text)
    positions: Mapped[list] = mapped_column(JSON, default=list)  # [{"who": .., "position": ..}]
    resolution: Mapped[str] = mapped_column(Text, default="")
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    meeting: Mapped["Meeting"] = relationship(back_populates="dissents")


class TensionRow(Base):
    """A tension of the working set: a spectrum between two poles."""

    __tablename__ = "tension"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    pole_a: Mapped[str] = mapped_column(String(300))
    pole_b: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    subthemes: Mapped[list] = mapped_column(JSON, default=list)
    proposer: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(20), default="candidate")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class TensionEvidence(Base):
    """A note or an excerpt attached to a tension as evidence."""

    __tablename__ = "tension_evidence"
    __table_args__ = (UniqueConstraint("tension_id", "note_id", "excerpt_id", name="item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tension_id: Mapped[int] = mapped_column(ForeignKey("tension.id", ondelete="CASCADE"))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("note.id", ondelete="CASCADE"))
    excerpt_id: Mapped[int | None] = mapped_column(ForeignKey("excerpt.id", ondelete="CASCADE"))
    added_by: Mapped[str] = mapped_column(String(120), default="")
    added_at: Mapped[datetime] = mapped_column(DateTime)


class TensionLink(Base):
    """A typed link between two tensions (relates to, contradicts, part of)."""

    __tablename__ = "tension_link"
    __table_args__ = (UniqueConstraint("source_id", "target_id", "kind", name="link"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("tension.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("tension.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))


class FrameworkVersion(Base):
    """A frozen tension set ("agree framework v1"); never changed once written."""

    __tablename__ = "framework_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    frozen_at: Mapped[datetime] = mapped_column(DateTime)
    frozen_by: Mapped[str] = mapped_column(String(120))
    tensions: Mapped[list] = mapped_column(JSON)  # snapshot, with evidence and links


class Workshop(Base):
    """The dated sensemaking workshop with the interviewed leaders."""

    __tablename__ = "workshop"
    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped["date"] = mapped_column(Date)  # quoted: "date" is this column here
    mode: Mapped[str] = mapped_column(String(40), default="online")
    facilitators: Mapped[list] = mapped_column(JSON, default=list)  # researcher names
    participants: Mapped[list] = mapped_column(JSON, default=list)  # participant names
    base_version: Mapped[int] = mapped_column(Integer)  # the frozen framework it works on
    consensus_threshold: Mapped[float] = mapped_column(Float, default=0.75)
    threshold_fixed_at: Mapped[datetime] = mapped_column(DateTime)
    notes: Mapped[str] = mapped_column(Text, default="")


class CardResponse(Base):
    """A participant's response to one tension card: comment, suggestion, circle."""

    __tablename__ = "card_response"
    __table_args__ = (
        UniqueConstraint("workshop_id", "participant_id", "code", name="uq_card_response_card"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    suggestion: Mapped[str] = mapped_column(Text, default="")
    circle: Mapped[str] = mapped_column(String(10), default="none")
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(40), default="widget")
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Poll(Base):
    """A poll of the workshop (opening nominations, re-vote); results hidden until closed."""

    __tablename__ = "poll"
    __table_args__ = (UniqueConstraint("workshop_id", "name", name="uq_poll_workshop_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    options: Mapped[list] = mapped_column(JSON)  # tension codes on the ballot
    max_choices: Mapped[int | None] = mapped_column(Integer)
    ranked: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Ballot(Base):
    """One participant's nominations in a poll (in rank order when ranked)."""

    __tablename__ = "ballot"
    __table_args__ = (UniqueConstraint("poll_id", "participant_id", name="uq_ballot_voter"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    choices: Mapped[list] = mapped_column(JSON)
    cast_at: Mapped[datetime] = mapped_column(DateTime)


class DecisionRow(Base):
    """A decision that reshapes the framework (see :mod:`coprod_nb.domain.decisions`)."""

    __tablename__ = "decision"
    __table_args__ = (UniqueConstraint("workshop_id", "ref", name="uq_decision_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSON)  # Decision.to_dict()
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    reverted_at: Mapped[datetime | None] = mapped_column(DateTime)


class SpectrumPosition(Base):
    """Where a partnership sits on a tension (0 = pole A, 100 = pole B) at a time point."""

    __tablename__ = "spectrum_position"
    __table_args__ = (
        UniqueConstraint("partnership_id", "code", "when", name="uq_spectrum_position"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    when: Mapped[str] = mapped_column(String(40))
    position: Mapped[float] = mapped_column(Float)
    recorded_by: Mapped[str] = mapped_column(String(120), default="")


class ReflectiveAnswer(Base):
    """A partnership's answer to one of the six reflective questions (after the workshop)."""

    __tablename__ = "reflective_answer"
    __table_args__ = (
        UniqueConstraint("partnership_id", "topic", name="uq_reflective_answer_topic"),
        # The method has six topics; the database refuses any other number too.
        CheckConstraint("topic BETWEEN 1 AND 6", name="topic_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id", ondelete="CASCADE"))
    topic: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str] = mapped_column(String(120), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ParticipantToken(Base):
    """A participant's personal link to the live workshop app.

    Only the SHA-256 of the link's key is stored: whoever reads the database cannot
    rebuild a working link. A re-issued link revokes the earlier one.
    """

    __tablename__ = "participant_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshop.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    issued_by: Mapped[str] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


# -- a codebook brought from other QDA tools (REFI-QDA, migration 0009) ----------------------


class QdaUser(Base):
    """A user of a REFI-QDA project (a coder), mapped to the researcher of the same name."""

    __tablename__ = "qda_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    researcher_id: Mapped[int | None] = mapped_column(
        ForeignKey("researcher.id", ondelete="SET NULL")
    )


class QdaCode(Base):
    """A code of a codebook brought from another tool; ``parent_id`` makes the hierarchy."""

    __tablename__ = "qda_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    color: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    codable: Mapped[bool] = mapped_column(Boolean, default=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("qda_code.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer, default=0)  # order among its siblings


class QdaCoding(Base):
    """A code applied to a span ``[start, end)`` of a transcript's canonical text (code
    points), or to the whole transcript (no span), by a coder."""

    __tablename__ = "qda_coding"
    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(64), unique=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("qda_code.id", ondelete="CASCADE"), index=True)
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcript.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)
    selection_guid: Mapped[str | None] = mapped_column(String(64))  # codings of one selection
    user_id: Mapped[int | None] = mapped_column(ForeignKey("qda_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class QdaSet(Base):
    """A named set of codes and sources."""

    __tablename__ = "qda_set"
    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")


class QdaSetMember(Base):
    """A code or a transcript in a set."""

    __tablename__ = "qda_set_member"
    __table_args__ = (
        CheckConstraint("(code_id IS NULL) <> (transcript_id IS NULL)", name="one_member"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("qda_set.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("qda_code.id", ondelete="CASCADE"))
    transcript_id: Mapped[int | None] = mapped_column(
        ForeignKey("transcript.id", ondelete="CASCADE")
    )


class QdaMemo(Base):
    """A memo on the project, a transcript (source), a selection (a span) or a code.

    ``kind`` says which; a project memo that is also a researcher note points at it.
    """

    __tablename__ = "qda_memo"
    __table_args__ = (
        CheckConstraint("kind IN ('project', 'source', 'selection', 'code')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    transcript_id: Mapped[int | None] = mapped_column(
        ForeignKey("transcript.id", ondelete="CASCADE")
    )
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)
    selection_guid: Mapped[str | None] = mapped_column(String(64))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("qda_code.id", ondelete="CASCADE"))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("note.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("qda_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class QdaVariable(Base):
    """A variable of sources or cases, with its REFI-QDA type (Text, Integer, ...)."""

    __tablename__ = "qda_variable"
    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(20), default="Text")
    description: Mapped[str] = mapped_column(Text, default="")


class QdaVariableValue(Base):
    """A source's value of a variable (cases keep theirs as partnership attributes)."""

    __tablename__ = "qda_variable_value"
    __table_args__ = (UniqueConstraint("variable_id", "transcript_id", name="value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    variable_id: Mapped[int] = mapped_column(ForeignKey("qda_variable.id", ondelete="CASCADE"))
    transcript_id: Mapped[int] = mapped_column(
        ForeignKey("transcript.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[dict] = mapped_column(JSON)  # {"value": ...}: any JSON value, None included
