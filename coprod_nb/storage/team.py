"""A team's study on PostgreSQL: one login role per researcher, blinding in the database.

On a database server the library's own checks are not enough: a researcher who opens
``psql`` with their role reads and writes tables directly. This module makes the database
enforce the method for every role of a researcher:

- :func:`install_policies` (run by migration 0007 and again by :func:`apply_team_roles`)
  installs helper functions, triggers and row-level-security policies. They key on
  ``session_user``: the researcher whose ``login`` is the name of the connected role.
- :func:`apply_team_roles` (``coprod-nb team``), run as the study's owner (the role that
  owns the tables), creates or updates one LOGIN role per researcher and grants each
  exactly what the method lets a researcher do.
- :func:`bind_actor` (called by :class:`~coprod_nb.storage.Store` when it opens) makes the
  actor of a store connected as a researcher's role that researcher: naming anyone else
  is refused.

The owner (and any superuser) is not subject to the policies: the owner administers the
study, and the functions below that must see every row (closing step 1 keeps a snapshot
of every note) run as the owner (``SECURITY DEFINER``) after checking who calls them.
That is why the tables use ``ENABLE`` and not ``FORCE ROW LEVEL SECURITY``.

On SQLite nothing here applies: a SQLite study is one person's file, and who is acting is
declared (``--as``, ``$COPROD_USER``), not proven.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from coprod_nb.domain.notes import RECALL
from coprod_nb.errors import CoprodError, Forbidden, InvalidInput

__all__ = [
    "TABLE_GRANTS",
    "DatabaseRefused",
    "TeamReport",
    "apply_team_roles",
    "bind_actor",
    "connected_researcher",
    "constraint_refusal",
    "database_refusal",
    "is_duplicate",
    "install_policies",
    "policy_statements",
    "remove_policies",
    "team_sql",
]

# -- what a researcher's role may do, table by table ---------------------------------------
#
# Privileges say which statements a role may run on a table; the row-level policies below
# say on which rows (own notes, lead-only tables, ballots of closed polls). A table missing
# here is granted nothing: a table added by a later schema upgrade stays closed to
# researchers' roles until this list (and its policies) name it.

_TEAM = "SELECT, INSERT, UPDATE"
TABLE_GRANTS: dict[str, str] = {
    "alembic_version": "SELECT",  # opening a study reads the schema version
    "study": "SELECT, UPDATE",
    "partnership": _TEAM + ", DELETE",
    "researcher": "SELECT, INSERT, DELETE, UPDATE (name, lead)",  # rows: the lead only
    "participant": _TEAM,
    "transcript": _TEAM,
    "transcript_person": _TEAM + ", DELETE",
    "turn": _TEAM,
    # PostgreSQL's search vectors (migration 0018): written only by the triggers on turn
    "turn_search": "SELECT",
    "excerpt": _TEAM,
    "event": "SELECT, INSERT",  # append-only (the triggers refuse the rest anyway)
    "note": _TEAM,  # rows: own notes (soft delete is an UPDATE)
    "note_excerpt": "SELECT, INSERT, DELETE",  # rows: anchors of own notes
    "note_version": "SELECT, INSERT",
    "reading": _TEAM + ", DELETE",  # rows: own readings
    "step_closure": "SELECT, INSERT",  # rows: the lead only
    "meeting": _TEAM,
    "dissent": _TEAM,
    "tension": _TEAM,
    "tension_evidence": _TEAM + ", DELETE",
    "tension_link": _TEAM + ", DELETE",  # a link taken back (board undo), logged as an event
    "framework_version": "SELECT, INSERT",  # rows: the lead only; frozen by trigger
    "workshop": _TEAM,  # rows: the lead only
    "card_response": _TEAM,
    "poll": _TEAM,
    "ballot": "SELECT",  # rows: closed polls only; cast through coprod_cast_ballot()
    "decision": _TEAM,  # rows: the lead only
    "spectrum_position": _TEAM,
    "reflective_answer": _TEAM,
    "participant_token": _TEAM,
    # a codebook brought from other tools (migration 0009): team material, not blind
    "qda_user": _TEAM,
    "qda_code": _TEAM,
    "qda_coding": _TEAM,
    "qda_set": _TEAM,
    "qda_set_member": _TEAM,
    "qda_memo": _TEAM,
    "qda_variable": _TEAM,
    "qda_variable_value": _TEAM,
}
# The name key (real name -> pseudonym): the lead's role only.
LEAD_ONLY_GRANTS: dict[str, str] = {"name_key": "SELECT, INSERT, UPDATE, DELETE"}

# Functions a researcher's role calls (EXECUTE is revoked from PUBLIC).
_CALLED = (
    "coprod_cast_ballot(integer, integer, json)",
    "coprod_poll_voters(integer)",
    "coprod_note_counts()",
)

# -- helpers, triggers, policies -----------------------------------------------------------

_HELPERS = """
CREATE OR REPLACE FUNCTION coprod_me() RETURNS integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp
  AS $$ SELECT id FROM researcher WHERE login = session_user::text $$;

CREATE OR REPLACE FUNCTION coprod_is_researcher() RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp
  AS $$ SELECT EXISTS (SELECT 1 FROM researcher WHERE login = session_user::text) $$;

CREATE OR REPLACE FUNCTION coprod_is_lead() RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp
  AS $$ SELECT EXISTS (SELECT 1 FROM researcher WHERE login = session_user::text AND lead) $$;

CREATE OR REPLACE FUNCTION coprod_step1_closed() RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp
  AS $$ SELECT EXISTS (SELECT 1 FROM step_closure WHERE step = '{recall}') $$;

-- Step 1 is blind for excerpts too: which passages a colleague chose is part of their
-- reading. Before the closure a researcher sees the excerpts their own notes anchor, and
-- the others that no colleague's note anchors and no colleague made (as
-- Store.excerpts(viewer=...) does; "made by" alone is not enough, as a study loaded by the
-- owner in the lead's name has every excerpt made by the lead).
CREATE OR REPLACE FUNCTION coprod_excerpt_visible(ex integer) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
    SELECT coprod_step1_closed()
        OR EXISTS (SELECT 1 FROM note_excerpt ne JOIN note n ON n.id = ne.note_id
                   WHERE ne.excerpt_id = ex AND n.researcher_id = coprod_me())
        OR (NOT EXISTS (SELECT 1 FROM note_excerpt ne JOIN note n ON n.id = ne.note_id
                        WHERE ne.excerpt_id = ex
                          AND n.researcher_id IS DISTINCT FROM coprod_me())
            AND NOT EXISTS (SELECT 1 FROM excerpt e JOIN researcher r
                              ON lower(e.created_by) IN (lower(r.login), lower(r.name))
                            WHERE e.id = ex AND r.id IS DISTINCT FROM coprod_me())) $$;

-- Python's datetime.isoformat() of a naive timestamp, as in the library's snapshots.
CREATE OR REPLACE FUNCTION coprod_iso(ts timestamp) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN ts IS NULL THEN NULL
                WHEN mod(date_part('microseconds', ts)::bigint, 1000000) = 0
                  THEN to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS')
                ELSE to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.US') END $$;

-- Every note as the library's close_recall keeps it (coprod_nb.storage.notes._note_state).
CREATE OR REPLACE FUNCTION coprod_notes_snapshot() RETURNS json
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
    SELECT json_build_object('notes', COALESCE(json_agg(json_build_object(
        'id', n.id, 'researcher_id', n.researcher_id, 'partnership_id', n.partnership_id,
        'category', n.category, 'kind', n.kind, 'text', n.text, 'version', n.version,
        'created_at', coprod_iso(n.created_at), 'updated_at', coprod_iso(n.updated_at),
        'deleted_at', coprod_iso(n.deleted_at),
        'excerpts', COALESCE((SELECT json_agg(e.id ORDER BY e."start", e.id)
                              FROM note_excerpt ne JOIN excerpt e ON e.id = ne.excerpt_id
                              WHERE ne.note_id = n.id), '[]'::json)
      ) ORDER BY n.id), '[]'::json))
    FROM note n $$;
"""

_TRIGGERS = """
-- The event log's "who" and "when" are the database's, not the client's, for a
-- researcher's role: nobody writes an entry in another's name.
CREATE OR REPLACE FUNCTION coprod_event_actor() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  BEGIN
    IF coprod_is_researcher() THEN
      NEW.actor := session_user::text;
      NEW.at := (clock_timestamp() AT TIME ZONE 'UTC')::timestamp;
    END IF;
    RETURN NEW;
  END $$;
DROP TRIGGER IF EXISTS coprod_event_actor ON event;
CREATE TRIGGER coprod_event_actor BEFORE INSERT ON event
  FOR EACH ROW EXECUTE FUNCTION coprod_event_actor();

-- An excerpt's maker is the connected researcher (excerpt visibility depends on it).
CREATE OR REPLACE FUNCTION coprod_excerpt_author() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  BEGIN
    IF coprod_is_researcher() THEN
      NEW.created_by := session_user::text;
    END IF;
    RETURN NEW;
  END $$;
DROP TRIGGER IF EXISTS coprod_excerpt_author ON excerpt;
CREATE TRIGGER coprod_excerpt_author BEFORE INSERT ON excerpt
  FOR EACH ROW EXECUTE FUNCTION coprod_excerpt_author();

-- Closing a step is the lead's act. The lead's role cannot read colleagues' notes
-- before step 1 closes, so the snapshot of every note is taken here, as the owner.
CREATE OR REPLACE FUNCTION coprod_step_closure() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  BEGIN
    IF coprod_is_researcher() THEN
      IF NOT coprod_is_lead() THEN
        RAISE EXCEPTION 'only the study lead can close a step'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      NEW.closed_by := (SELECT name FROM researcher WHERE login = session_user::text);
      NEW.closed_at := (clock_timestamp() AT TIME ZONE 'UTC')::timestamp;
      IF NEW.step = '{recall}' THEN
        NEW.snapshot := coprod_notes_snapshot();
      END IF;
    END IF;
    RETURN NEW;
  END $$;
DROP TRIGGER IF EXISTS coprod_step_closure ON step_closure;
CREATE TRIGGER coprod_step_closure BEFORE INSERT ON step_closure
  FOR EACH ROW EXECUTE FUNCTION coprod_step_closure();

-- The lead's acts: a researcher's role other than the lead's writes none of these rows.
-- (The policies say so too; the trigger makes it an error rather than "0 rows".)
CREATE OR REPLACE FUNCTION coprod_lead_only() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  BEGIN
    IF coprod_is_researcher() AND NOT coprod_is_lead() THEN
      RAISE EXCEPTION 'only the study lead changes % rows', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    RETURN NEW;
  END $$;
DROP TRIGGER IF EXISTS coprod_lead_only ON researcher;
CREATE TRIGGER coprod_lead_only BEFORE INSERT OR UPDATE OR DELETE ON researcher
  FOR EACH ROW EXECUTE FUNCTION coprod_lead_only();
DROP TRIGGER IF EXISTS coprod_lead_only ON step_closure;
CREATE TRIGGER coprod_lead_only BEFORE INSERT OR UPDATE OR DELETE ON step_closure
  FOR EACH ROW EXECUTE FUNCTION coprod_lead_only();
DROP TRIGGER IF EXISTS coprod_lead_only ON framework_version;
CREATE TRIGGER coprod_lead_only BEFORE INSERT OR UPDATE OR DELETE ON framework_version
  FOR EACH ROW EXECUTE FUNCTION coprod_lead_only();
DROP TRIGGER IF EXISTS coprod_lead_only ON workshop;
CREATE TRIGGER coprod_lead_only BEFORE INSERT OR UPDATE OR DELETE ON workshop
  FOR EACH ROW EXECUTE FUNCTION coprod_lead_only();
DROP TRIGGER IF EXISTS coprod_lead_only ON decision;
CREATE TRIGGER coprod_lead_only BEFORE INSERT OR UPDATE OR DELETE ON decision
  FOR EACH ROW EXECUTE FUNCTION coprod_lead_only();

-- Own rows: only the author changes a note (once step 1 closes colleagues' notes are
-- readable, not writable) and only the reader their readings (the lead may take a
-- removed researcher's readings away).
CREATE OR REPLACE FUNCTION coprod_own_rows() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  BEGIN
    IF coprod_is_researcher() AND OLD.researcher_id IS DISTINCT FROM coprod_me()
       AND NOT (TG_TABLE_NAME = 'reading' AND TG_OP = 'DELETE' AND coprod_is_lead()) THEN
      RAISE EXCEPTION 'only its author changes a % row', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    RETURN NEW;
  END $$;
DROP TRIGGER IF EXISTS coprod_own_rows ON note;
CREATE TRIGGER coprod_own_rows BEFORE UPDATE OR DELETE ON note
  FOR EACH ROW EXECUTE FUNCTION coprod_own_rows();
DROP TRIGGER IF EXISTS coprod_own_rows ON reading;
CREATE TRIGGER coprod_own_rows BEFORE UPDATE OR DELETE ON reading
  FOR EACH ROW EXECUTE FUNCTION coprod_own_rows();

-- Only a note's author takes an anchor off it.
CREATE OR REPLACE FUNCTION coprod_own_anchor() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  BEGIN
    IF coprod_is_researcher() AND NOT EXISTS (
         SELECT 1 FROM note WHERE id = OLD.note_id AND researcher_id = coprod_me()) THEN
      RAISE EXCEPTION 'only its author changes a note''s anchors'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END $$;
DROP TRIGGER IF EXISTS coprod_own_anchor ON note_excerpt;
CREATE TRIGGER coprod_own_anchor BEFORE DELETE ON note_excerpt
  FOR EACH ROW EXECUTE FUNCTION coprod_own_anchor();

-- A closed poll stays closed: a guard for every role, migration 0008 (storage/guards.py).

-- Changing a transcript's text moves its excerpts' offsets; a role that cannot see every
-- excerpt of it (step 1 open) would leave colleagues' excerpts on the wrong words.
CREATE OR REPLACE FUNCTION coprod_transcript_text() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  BEGIN
    IF coprod_is_researcher() AND NEW.text IS DISTINCT FROM OLD.text
       AND EXISTS (SELECT 1 FROM excerpt e WHERE e.transcript_id = NEW.id
                   AND NOT coprod_excerpt_visible(e.id)) THEN
      RAISE EXCEPTION 'colleagues'' excerpts of this transcript are hidden until step 1 '
                      'closes: the study owner changes its text'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END $$;
DROP TRIGGER IF EXISTS coprod_transcript_text ON transcript;
CREATE TRIGGER coprod_transcript_text BEFORE UPDATE ON transcript
  FOR EACH ROW EXECUTE FUNCTION coprod_transcript_text();

-- Ballots are hidden from researchers' roles until the poll closes, so they are cast
-- through this function (any member of the team records them), which checks the ballot
-- as Store.cast_ballot does.
CREATE OR REPLACE FUNCTION coprod_cast_ballot(p_poll integer, p_participant integer,
                                              p_choices json) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
  DECLARE
    p poll%ROWTYPE;
    bid integer;
  BEGIN
    IF NOT coprod_is_researcher() THEN
      RAISE EXCEPTION 'only a researcher of the study records ballots'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO p FROM poll WHERE id = p_poll FOR UPDATE;
    IF NOT FOUND OR p.closed_at IS NOT NULL THEN
      RAISE EXCEPTION 'the poll is closed or does not exist'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF json_typeof(p_choices) <> 'array'
       OR EXISTS (SELECT 1 FROM json_array_elements_text(p_choices) c(v)
                  WHERE c.v NOT IN (SELECT json_array_elements_text(p.options)))
       OR (SELECT count(*) <> count(DISTINCT v) FROM json_array_elements_text(p_choices) c(v))
       OR (p.max_choices IS NOT NULL AND json_array_length(p_choices) > p.max_choices) THEN
      RAISE EXCEPTION 'not a valid ballot for this poll' USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO ballot (poll_id, participant_id, choices, cast_at)
      VALUES (p_poll, p_participant, p_choices, (clock_timestamp() AT TIME ZONE 'UTC')::timestamp)
      ON CONFLICT (poll_id, participant_id)
      DO UPDATE SET choices = EXCLUDED.choices, cast_at = EXCLUDED.cast_at
      RETURNING id INTO bid;
    RETURN bid;
  END $$;

-- How many notes each researcher has written per partnership (counts only, as the
-- library's progress table shows them to everyone while the notes stay blind).
CREATE OR REPLACE FUNCTION coprod_note_counts()
  RETURNS TABLE (researcher text, partnership_id integer, notes bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
    SELECT r.name::text, n.partnership_id, count(n.id) FROM note n
    JOIN researcher r ON r.id = n.researcher_id
    WHERE n.deleted_at IS NULL AND coprod_is_researcher()
    GROUP BY r.name, n.partnership_id $$;

-- Who has voted in a poll (not what): visible while it is open, as Store.voters says.
CREATE OR REPLACE FUNCTION coprod_poll_voters(p_poll integer) RETURNS SETOF integer
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
    SELECT participant_id FROM ballot WHERE poll_id = p_poll AND coprod_is_researcher() $$;
"""

#: Object types of the event log whose events only the lead's acts write (close step 1,
#: freeze a framework, record the workshop, its decisions and links).
LEAD_EVENTS = ("step", "framework", "workshop", "decision")

# (table, policy, command, USING, WITH CHECK)
_POLICIES: list[tuple[str, str, str, str | None, str | None]] = [
    # step 1, blind: own notes until the lead closes the step, then everyone's; only the
    # author writes a note (trigger coprod_own_rows makes a colleague's write an error)
    ("note", "read", "SELECT", "researcher_id = coprod_me() OR coprod_step1_closed()", None),
    ("note", "add", "INSERT", None, "researcher_id = coprod_me()"),
    (
        "note",
        "change",
        "UPDATE",
        "researcher_id = coprod_me() OR coprod_step1_closed()",
        "researcher_id = coprod_me()",
    ),
    # anchors of visible notes; only the author anchors a note (coprod_own_anchor)
    (
        "note_excerpt",
        "read",
        "SELECT",
        "EXISTS (SELECT 1 FROM note n WHERE n.id = note_excerpt.note_id)",
        None,
    ),
    (
        "note_excerpt",
        "add",
        "INSERT",
        None,
        "EXISTS (SELECT 1 FROM note n WHERE n.id = note_excerpt.note_id "
        "AND n.researcher_id = coprod_me()) AND coprod_excerpt_visible(excerpt_id)",
    ),
    (
        "note_excerpt",
        "remove",
        "DELETE",
        "EXISTS (SELECT 1 FROM note n WHERE n.id = note_excerpt.note_id)",
        None,
    ),
    ("excerpt", "read", "SELECT", "coprod_excerpt_visible(id)", None),
    ("excerpt", "add", "INSERT", None, "true"),  # made by: trigger coprod_excerpt_author
    ("excerpt", "change", "UPDATE", "coprod_excerpt_visible(id)", "true"),
    (
        "note_version",
        "read",
        "SELECT",
        "EXISTS (SELECT 1 FROM note n WHERE n.id = note_version.note_id)",
        None,
    ),
    (
        "note_version",
        "add",
        "INSERT",
        None,
        "EXISTS (SELECT 1 FROM note n WHERE n.id = note_version.note_id "
        "AND n.researcher_id = coprod_me())",
    ),
    # the event log keeps a note's text in before/after: its rows are as blind as the note
    (
        "event",
        "read",
        "SELECT",
        "coprod_step1_closed() OR object_type NOT IN ('note', 'excerpt') "
        "OR (object_type = 'note' AND EXISTS (SELECT 1 FROM note n WHERE n.id = event.object_id)) "
        "OR (object_type = 'excerpt' AND coprod_excerpt_visible(object_id))",
        None,
    ),
    # an event about a note is its author's, about an excerpt its viewer's; the actor and
    # the time are the database's (trigger coprod_event_actor). Events of the lead's acts
    # are the lead's: the library reads state from them (a "framework freeze" event marks
    # a workshop's result frozen), so a colleague's forged one would close the lead's
    # workshop to decisions.
    (
        "event",
        "append",
        "INSERT",
        None,
        "(object_type <> 'note' OR EXISTS (SELECT 1 FROM note n WHERE n.id = event.object_id "
        "AND n.researcher_id = coprod_me())) "
        "AND (object_type <> 'excerpt' OR coprod_excerpt_visible(object_id)) "
        f"AND (object_type NOT IN ({', '.join(repr(t) for t in LEAD_EVENTS)}) "
        "OR coprod_is_lead())",
    ),
    # own readings (coprod_own_rows)
    ("reading", "read", "SELECT", "true", None),
    ("reading", "add", "INSERT", None, "researcher_id = coprod_me()"),
    ("reading", "change", "UPDATE", "true", "researcher_id = coprod_me()"),
    ("reading", "remove", "DELETE", "true", None),
    # a poll's ballots once it is closed (no bandwagon effects)
    (
        "ballot",
        "read",
        "SELECT",
        "EXISTS (SELECT 1 FROM poll p WHERE p.id = ballot.poll_id AND p.closed_at IS NOT NULL)",
        None,
    ),
]
# The lead's acts (with trigger coprod_lead_only): everyone reads, the lead writes.
LEAD_TABLES = ("researcher", "step_closure", "framework_version", "workshop", "decision")
for _table in LEAD_TABLES:
    _POLICIES += [
        (_table, "read", "SELECT", "true", None),
        (_table, "add", "INSERT", None, "coprod_is_lead()"),
        (_table, "change", "UPDATE", "true", "coprod_is_lead()"),
        (_table, "remove", "DELETE", "true", None),
    ]

RLS_TABLES: tuple[str, ...] = tuple(dict.fromkeys(t for t, *_ in _POLICIES))

_FUNCTIONS = (
    "coprod_note_counts()",
    "coprod_lead_only()",
    "coprod_own_rows()",
    "coprod_own_anchor()",
    "coprod_cast_ballot(integer, integer, json)",
    "coprod_poll_voters(integer)",
    "coprod_transcript_text()",
    "coprod_step_closure()",
    "coprod_excerpt_author()",
    "coprod_event_actor()",
    "coprod_notes_snapshot()",
    "coprod_iso(timestamp)",
    "coprod_excerpt_visible(integer)",
    "coprod_step1_closed()",
    "coprod_is_lead()",
    "coprod_is_researcher()",
    "coprod_me()",
)
_TRIGGERS_ON: list[tuple[str, str]] = [
    *(("coprod_lead_only", t) for t in LEAD_TABLES),
    ("coprod_own_rows", "note"),
    ("coprod_own_rows", "reading"),
    ("coprod_own_anchor", "note_excerpt"),
    ("coprod_event_actor", "event"),
    ("coprod_excerpt_author", "excerpt"),
    ("coprod_step_closure", "step_closure"),
    ("coprod_transcript_text", "transcript"),
]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _split(sql: str) -> list[str]:
    """Statements of a script whose function bodies are $$-quoted (no ; inside quotes)."""
    out, buf, inside = [], [], False
    for line in sql.splitlines():
        if not buf and (not line.strip() or line.strip().startswith("--")):
            continue
        buf.append(line)
        inside ^= line.count("$$") % 2 == 1
        if not inside and line.rstrip().endswith(";"):
            out.append("\n".join(buf).rstrip().rstrip(";"))
            buf = []
    if buf:
        out.append("\n".join(buf))
    return out


def policy_statements(schema: str = "public") -> list[str]:
    """The SQL that makes the database enforce the method (idempotent, as the owner)."""
    fmt = {"schema": _quote(schema), "recall": RECALL}
    stmts = _split(_HELPERS.format(**fmt)) + _split(_TRIGGERS.format(**fmt))
    # Functions are executable by PUBLIC when created: those that read every row run
    # only through the triggers or for the roles granted them (team_sql).
    for fn in (*_CALLED, "coprod_notes_snapshot()"):
        stmts.append(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
    for table in RLS_TABLES:
        stmts.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table, name, command, using, check in _POLICIES:
        policy = f"coprod_{table}_{name}"
        stmts.append(f"DROP POLICY IF EXISTS {policy} ON {table}")
        sql = f"CREATE POLICY {policy} ON {table} FOR {command}"
        if using is not None:
            sql += f" USING ({using})"
        if check is not None:
            sql += f" WITH CHECK ({check})"
        stmts.append(sql)
    return stmts


def _run(conn: Connection, sql: str) -> None:
    # On the driver's own cursor, without parameters: the function bodies hold colons
    # and percent signs that text() and exec_driver_sql would take for placeholders.
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def install_policies(conn: Connection) -> None:
    """Install (or bring up to date) the functions, triggers and policies on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return
    schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    for sql in policy_statements(schema):
        _run(conn, sql)


def remove_policies(conn: Connection) -> None:
    """Undo :func:`install_policies` (migration 0007's downgrade)."""
    if conn.dialect.name != "postgresql":
        return
    for table, name, *_ in _POLICIES:
        _run(conn, f"DROP POLICY IF EXISTS coprod_{table}_{name} ON {table}")
    for table in RLS_TABLES:
        _run(conn, f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for trigger, table in _TRIGGERS_ON:
        _run(conn, f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for fn in _FUNCTIONS:
        _run(conn, f"DROP FUNCTION IF EXISTS {fn}")


# -- roles ----------------------------------------------------------------------------------


@dataclass
class TeamReport:
    """What :func:`apply_team_roles` did, one line per act (printed by ``coprod-nb team``)."""

    lines: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def team_sql(login: str, *, lead: bool, schema: str = "public") -> list[str]:
    """The grants of one researcher's role (run after ``REVOKE ALL``; idempotent)."""
    role, sch = _quote(login), _quote(schema)
    stmts = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {sch} FROM {role}",
    ]
    grants = dict(TABLE_GRANTS)
    if lead:
        grants.update(LEAD_ONLY_GRANTS)
    for table, privileges in grants.items():
        stmts.append(f"GRANT {privileges} ON {sch}.{_quote(table)} TO {role}")
    stmts.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {role}")
    for fn in _CALLED:
        stmts.append(f"GRANT EXECUTE ON FUNCTION {sch}.{fn} TO {role}")
    return stmts


def _savepoint(conn: Connection, sql: str) -> str | None:
    """Run one statement in a savepoint; the database's message if it was refused."""
    try:
        with conn.begin_nested():
            _run(conn, sql)
    except DBAPIError as exc:
        diag = getattr(exc.orig, "diag", None)
        return (diag.message_primary if diag is not None else None) or str(exc.orig)
    return None


def apply_team_roles(store) -> TeamReport:
    """Give every researcher of the study a LOGIN role and exactly the method's rights.

    Run as the study's owner (the role that owns the tables), on PostgreSQL. Idempotent:
    running it again changes nothing but the roles whose researcher changed (a new
    researcher, a new lead, someone taken off the team). No password is set: the DBA sets
    passwords (or another authentication) and ``pg_hba.conf``.

    For each researcher with a ``login``: the role named by the login is created (the
    owner needs CREATEROLE for that, else the DBA creates it first) or made LOGIN; its
    privileges are reset to :data:`TABLE_GRANTS` (the lead's also the name key); roles
    granted before but no longer on the team lose their privileges.

    Raises
    ------
    InvalidInput
        The study is not on PostgreSQL.
    Forbidden
        Not run as the owner, or a role cannot be created.
    """
    engine: Engine = store.engine
    if engine.dialect.name != "postgresql":
        raise InvalidInput(
            "team roles are for a study on PostgreSQL; a SQLite study is one person's file "
            "(who is acting is declared there, not proven)"
        )
    report = TeamReport()
    with engine.begin() as conn:
        me, superuser = conn.exec_driver_sql(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).one()
        schema, owner = conn.exec_driver_sql(
            "SELECT current_schema(), tableowner FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'note'"
        ).one()
        if me != owner and not superuser:
            raise Forbidden(
                f"run `coprod-nb team` as the study's owner ({owner}), not as {me}: "
                "only the owner of the tables can grant on them"
            )
        install_policies(conn)
        report.lines.append(f"policies and triggers of {schema} installed (as {me})")
        team = conn.exec_driver_sql("SELECT name, login, lead FROM researcher ORDER BY name").all()
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        for name, login, lead in team:
            if not login:
                report.lines.append(f"{name}: no login in the study, so no role (give one)")
                continue
            if login == owner:
                raise Forbidden(
                    f"{name}'s login {login!r} is the owner of the study's tables, which the "
                    f"policies do not hold; give {name} a login of their own"
                )
            role = _quote(login)
            found = conn.execute(
                text(
                    "SELECT rolcanlogin, rolsuper, rolbypassrls, "
                    "pg_has_role(:login, :owner, 'MEMBER') FROM pg_roles WHERE rolname = :login"
                ),
                {"login": login, "owner": owner},
            ).first()
            if found is None:
                refused = _savepoint(conn, f"CREATE ROLE {role} LOGIN")
                if refused:
                    raise Forbidden(
                        f"cannot create the role {login!r} ({refused}): give the owner "
                        f"CREATEROLE, or ask the DBA to run CREATE ROLE {role} LOGIN, "
                        "then run `coprod-nb team` again"
                    )
                report.lines.append(f"created role {login} (LOGIN, no password) for {name}")
            else:
                can_login, is_super, bypass, in_owner = found
                if not can_login:
                    refused = _savepoint(conn, f"ALTER ROLE {role} LOGIN")
                    if refused:
                        raise Forbidden(
                            f"cannot make the role {login!r} a LOGIN role ({refused}): "
                            f"ask the DBA to run ALTER ROLE {role} LOGIN"
                        )
                    report.lines.append(f"role {login} exists; made it LOGIN, for {name}")
                else:
                    report.lines.append(f"role {login} exists (LOGIN), for {name}")
                if is_super or bypass or in_owner:
                    why = (
                        "is a superuser"
                        if is_super
                        else "bypasses row-level security"
                        if bypass
                        else f"is a member of the owner {owner}"
                    )
                    report.lines.append(
                        f"WARNING: role {login} {why}: the database cannot hold it to the "
                        "method; ask the DBA to change that"
                    )
            refused = _savepoint(conn, f"GRANT CONNECT ON DATABASE {_quote(database)} TO {role}")
            if refused:
                report.lines.append(f"  could not grant CONNECT ({refused}): the DBA grants it")
            refused = _savepoint(conn, f"GRANT USAGE ON SCHEMA {_quote(schema)} TO {role}")
            if refused:
                report.lines.append(f"  could not grant USAGE on {schema} ({refused})")
            for sql in team_sql(login, lead=bool(lead), schema=schema):
                _run(conn, sql)
            if conn.execute(
                text("SELECT has_schema_privilege(:login, :schema, 'CREATE')"),
                {"login": login, "schema": schema},
            ).scalar_one():
                report.lines.append(
                    f"WARNING: role {login} may create objects in {schema}; the DBA should run "
                    f"REVOKE CREATE ON SCHEMA {_quote(schema)} FROM PUBLIC"
                )
            report.lines.append(
                f"  granted {login} "
                + (
                    "the lead's rights: the team's tables, their own notes, anchors and "
                    "readings, and step closures, frozen frameworks, the team, workshops, "
                    "decisions and the name key"
                    if lead
                    else "a researcher's rights: the team's tables and their own notes, "
                    "anchors and readings (colleagues' notes hidden until step 1 closes)"
                )
            )
            report.roles.append(login)
        known = set(TABLE_GRANTS) | set(LEAD_ONLY_GRANTS)
        for table in conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        ).scalars():
            if table not in known:
                report.lines.append(
                    f"WARNING: table {table} is not one coprod_nb knows: granted to nobody"
                )
        logins = {login for _, login, _ in team if login}
        stale = conn.exec_driver_sql(
            "SELECT DISTINCT grantee FROM information_schema.role_table_grants "
            "WHERE table_schema = current_schema() AND table_name = 'note' "
            "AND grantee <> current_user"
        ).scalars()
        for grantee in sorted(set(stale) - logins - {owner}):
            role = "PUBLIC" if grantee == "PUBLIC" else _quote(grantee)
            for sql in (
                f"REVOKE ALL ON ALL TABLES IN SCHEMA {_quote(schema)} FROM {role}",
                f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {_quote(schema)} FROM {role}",
            ):
                _run(conn, sql)
            for fn in _CALLED:
                _run(conn, f"REVOKE ALL ON FUNCTION {fn} FROM {role}")
            report.lines.append(f"revoked the privileges of {grantee} (no researcher has it)")
        if not report.roles:
            report.lines.append("no researcher has a login: no role was given privileges")
    return report


# -- refusals ------------------------------------------------------------------------------


class DatabaseRefused(Forbidden):
    """The database refused a researcher's role (a privilege, a policy, a lead-only table).

    ``orig`` is the driver's error, as on SQLAlchemy's errors.
    """

    def __init__(self, message: str, orig: BaseException | None = None):
        super().__init__(message)
        self.orig = orig


def database_refusal(exc: BaseException) -> DatabaseRefused | None:
    """A :class:`DatabaseRefused` for an ``insufficient_privilege`` error (42501), else None."""
    orig = getattr(exc, "orig", None)
    if not isinstance(exc, DBAPIError) or getattr(orig, "sqlstate", None) != "42501":
        return None
    diag = getattr(orig, "diag", None)
    message = (diag.message_primary if diag is not None else None) or str(orig)
    return DatabaseRefused(f"the database refused your role: {message}", orig)


def is_duplicate(exc: BaseException) -> bool:
    """Whether ``exc`` is a unique constraint's refusal (a name or login already taken)."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "23505" or (
        getattr(orig, "sqlite_errorname", None) == "SQLITE_CONSTRAINT_UNIQUE"
    )


def constraint_refusal(exc: BaseException, what: str) -> CoprodError | None:
    """A clear error for the database refusing ``what`` (e.g. ``"12 notes"``), else None.

    For a refusal the store has no finer message for: a CHECK, a foreign key or a
    trigger (SQLite's ``RAISE(ABORT, ...)``, PostgreSQL's ``RAISE EXCEPTION``) gives
    :class:`Forbidden` with the database's own reason; a unique constraint gives
    :class:`InvalidInput`. Not for a lost connection or a damaged file (those stay as
    they are, or are the store's). The reason is the database's first line, without
    SQLAlchemy's statement and parameters.
    """
    orig = getattr(exc, "orig", None)
    # A constraint (SQLSTATE class 23, SQLite's constraints and RAISE(ABORT)), or a
    # PL/pgSQL trigger's RAISE EXCEPTION (P0001). Not any other error: a mistake in a
    # statement stays a programming error, with its traceback.
    raised = isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) == "P0001"
    if not (isinstance(exc, IntegrityError) or raised):
        return None
    diag = getattr(orig, "diag", None)
    reason = (diag.message_primary if diag is not None else None) or str(orig)
    reason = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
    if is_duplicate(exc):
        return InvalidInput(f"{what}: already in the study ({reason}); nothing was changed")
    return Forbidden(f"the database refused {what}: {reason}; nothing was changed")


# -- who is acting --------------------------------------------------------------------------


def connected_researcher(engine: Engine) -> tuple[str, str] | None:
    """(login, name) of the researcher whose role this engine connects as, else None.

    Only on PostgreSQL: there the database knows who is connected (``session_user``).
    None also for the owner, a superuser, or any role that is nobody's login.
    """
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT login, name FROM researcher WHERE login = session_user::text"
        ).first()
    return None if row is None else (row[0], row[1])


def declared_actor(actor: str | None) -> str | None:
    """Who the caller says is acting: ``actor``, ``$COPROD_USER`` or ``$JUPYTERHUB_USER``."""
    for value in (actor, os.environ.get("COPROD_USER"), os.environ.get("JUPYTERHUB_USER")):
        if value and value.strip():
            return value.strip()
    return None


def bind_actor(engine: Engine, actor: str | None, fallback: str) -> tuple[str, str | None]:
    """(actor, login): the actor of a store, and the researcher login it is connected as.

    Connected to PostgreSQL as a researcher's role, the actor IS that researcher (their
    login); a declared actor (``actor=``, ``--as``, ``$COPROD_USER``, ``$JUPYTERHUB_USER``)
    naming anyone else raises :class:`Forbidden`. Otherwise (SQLite, or the owner's role)
    the declared actor, else ``fallback``, as before.
    """
    try:
        found = connected_researcher(engine)
    except DBAPIError as exc:  # pragma: no cover - a database without the tables
        raise CoprodError(f"cannot read the research team: {exc.orig}") from exc
    if found is None:
        return actor or fallback, None
    login, name = found
    declared = declared_actor(actor)
    if declared and declared.casefold() not in (login.casefold(), name.casefold()):
        raise Forbidden(
            f"you are connected to the database as {login}; you cannot act as {declared}"
        )
    return login, login


# -- ballots through the database (a researcher's role cannot read open polls' ballots) --


def cast_ballot_in_db(session, poll_id: int, participant_id: int, choices: list[str]) -> int:
    """Cast (or replace) a ballot with ``coprod_cast_ballot()``; returns the ballot's id."""
    import json

    return session.execute(
        text("SELECT coprod_cast_ballot(:poll, :who, CAST(:choices AS json))"),
        {"poll": poll_id, "who": participant_id, "choices": json.dumps(list(choices))},
    ).scalar_one()


def voter_names_in_db(session, poll_id: int) -> list[str]:
    """Who has voted in a poll, by name, with ``coprod_poll_voters()`` (not what)."""
    return list(
        session.execute(
            text(
                "SELECT name FROM participant WHERE id IN (SELECT coprod_poll_voters(:poll)) "
                "ORDER BY name"
            ),
            {"poll": poll_id},
        ).scalars()
    )


def note_counts_in_db(session) -> list[tuple[str, int, int]]:
    """(researcher name, partnership id, notes) with ``coprod_note_counts()``: counts only."""
    query = "SELECT researcher, partnership_id, notes FROM coprod_note_counts()"
    rows = session.execute(text(query))
    return [(name, pid, int(n)) for name, pid, n in rows]
