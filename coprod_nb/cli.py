"""``coprod-nb``: the command line, a thin layer over the library.

Every user mistake ends in a one-line ``error: ...`` message and exit status 1;
nothing is changed when a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from coprod_nb.domain.transcript import speaker_prefix
from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError, InvalidInput


def _store(args, *, create: bool = False):
    from coprod_nb.storage import Store

    return Store(args.dir, args.db, actor=args.actor, create=create)


def cmd_init(args) -> int:
    from coprod_nb.seed.manifest import load_manifest
    from coprod_nb.storage.database import DB_FILE

    folder = Path(args.dir)
    made_folder = not folder.exists()
    db = folder / DB_FILE
    made_db = not args.db and not os.environ.get("COPROD_DB") and not db.exists()
    try:
        with _store(args, create=True) as store:
            if args.name:
                store.update_study(name=args.name)
            if args.manifest:
                print(load_manifest(store, args.manifest, progress=not args.quiet))
            print(f"study ready in {store.study_dir}")
    except BaseException:
        # A failed init leaves nothing behind: only what this command created goes.
        if made_db:
            for name in (DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm", f"{DB_FILE}-journal"):
                (folder / name).unlink(missing_ok=True)
        if made_folder and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise
    return 0


def cmd_import(args) -> int:
    from coprod_nb.ingest import import_transcripts

    projects = [p for p in args.paths if str(p).lower().endswith(".qdpx")]
    if projects:
        from coprod_nb.exchange.refi_qda import import_qdpx

        if len(projects) != len(args.paths):
            raise CoprodError("import a .qdpx project on its own, not with transcripts")
        skipped = False
        with _store(args) as store:
            for project in projects:
                summary = import_qdpx(store, project, lead=args.lead, skip_bad=args.skip_bad)
                print(summary)
                skipped |= "(--skip-bad)" in str(summary)
        # --skip-bad: the good sources are in, but a skipped one still fails the run
        return 1 if skipped else 0
    media = getattr(args, "media", None)
    if media:
        from coprod_nb.storage.media import media_type

        # Checked before anything is imported, so a bad recording changes nothing.
        if projects or len(args.paths) != 1 or Path(args.paths[0]).is_dir():
            raise InvalidInput("--media goes with one transcript file", file=media)
        media_type(media)
        if not Path(media).expanduser().is_file():
            raise InvalidInput("no such recording (or it is not a file)", file=media)
    with _store(args) as store:
        report = import_transcripts(
            store,
            args.paths,
            partnership=args.partnership,
            date=args.date,
            participants=args.participant or [],
            interviewers=args.interviewer or [],
            title=args.title,
            speaker_pattern=args.speaker_pattern,
            encoding=args.encoding,
            skip_bad=args.skip_bad,
            progress=not args.quiet,
        )
        print(report)
        if media and report.imported and not report.errors:
            from coprod_nb.storage.media import attach_media

            where = attach_media(store, report.imported[0].transcript_id, media)
            print(f"recording: {where}")
    return 1 if report.errors else 0


def cmd_demo(args) -> int:
    from coprod_nb.seed.demo import build_demo

    store = build_demo(args.dir, url=args.db, progress=not args.quiet)
    with store:
        n = len(store.transcripts())
        print(f"demo study built in {store.study_dir}: {n} transcripts")
    return 0


def cmd_notebooks(args) -> int:
    from coprod_nb.seed.notebooks import TOUR, copy_notebooks

    written = copy_notebooks(args.dir, force=args.force)
    dest = Path(args.dir)
    tour = sum(1 for p in written if p.parent.name == TOUR and p.parent.parent == dest)
    print(
        f"{plural(len(written) - tour, 'notebook')} copied to {dest}, "
        f"the tour ({tour}) to {dest / TOUR}; "
        f"open them with: COPROD_STUDY=STUDY jupyter lab {dest}"
    )
    return 0


def cmd_info(args) -> int:
    from coprod_nb.analysis import study_info

    with _store(args) as store:
        info = study_info(store)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        for key, value in info.items():
            if key == "words_per_transcript":
                for title, words in value.items():
                    print(f"  {title}: {words} words")
            else:
                print(f"{key}: {value}")
    return 0


def cmd_check(args) -> int:
    from coprod_nb.storage.integrity import check_study

    problems = check_study(args.dir, args.db)
    if not problems:
        print(f"{args.dir}: the record is sound (integrity, schema, offsets, codes, decisions)")
        return 0
    print(f"{args.dir}: {plural(len(problems), 'problem')} found:")
    for problem in problems:
        print(f"- {problem}")
    return 1


def cmd_restore(args) -> int:
    from coprod_nb.storage.integrity import restore_backup

    if args.db and not args.db.startswith("sqlite"):
        raise CoprodError(
            "restore puts a backup file in place of study.db (SQLite studies); a database "
            "server's study is restored from its JSON backup by the server's administrator"
        )
    source, kept = restore_backup(args.dir, args.backup)
    where = f"; the file it replaced is kept as {kept}" if kept else ""
    print(
        f"restored {source.name} as {Path(args.dir) / 'study.db'}{where}. Changes made after "
        f"the backup was taken are not in it; run `coprod-nb check {args.dir}`"
    )
    return 0


def cmd_search(args) -> int:
    # Not through coprod_nb.analysis nor the store: importing pandas and pyplot, then
    # the ORM models, took most of the command's time for a query of milliseconds. The
    # study is opened by the store's own rule (storage/opening.py): same checks, same actor.
    from coprod_nb.domain import format_time
    from coprod_nb.storage.search import marked_to_text, search_study

    hits = search_study(args.dir, args.query, args.limit, url=args.db, actor=args.actor)
    if hits:
        # "best 50 of the first 2,000 matching turns ...": the bound is said, on stderr so
        # that --json output stays a plain list
        print(hits.summary(), file=sys.stderr)
    rows = [
        {
            "transcript_id": h.transcript_id,
            "transcript": h.transcript,
            "partnership": h.partnership,
            "turn_id": h.turn_id,
            "seq": h.seq,
            "speaker": h.speaker,
            "time": format_time(h.start_ms),
            "snippet": marked_to_text(h.snippet),
        }
        for h in hits
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        print("no match")
    else:
        for row in rows:
            when = f" {row['time']}" if row["time"] else ""
            who = speaker_prefix(row["speaker"])  # nothing for a plain document's paragraph
            snippet = " ".join(row["snippet"].split())  # one line per hit (paragraphs wrap)
            print(f"{row['transcript']} #{row['seq']}{when} {who}{snippet}")
    return 0


def cmd_history(args) -> int:
    from coprod_nb.analysis import history_table
    from coprod_nb.storage.events import OBJECT_TYPES

    # KIND or KIND:ID, KIND one the log records: a typing mistake ("transcripts:1",
    # "bogus") is refused with the known kinds, not answered "no history" (which would
    # read as "nothing happened"). Refused before the study is opened.
    kind, colon, ident = args.object.partition(":")
    if kind not in OBJECT_TYPES:
        raise InvalidInput(
            f"unknown kind of object {kind[:40]!r}; the log records: {', '.join(OBJECT_TYPES)}",
            place=args.object[:60],
        )
    if colon and not ident.strip():
        raise InvalidInput(
            f"give an object after {kind}:, e.g. {kind}:3 (or {kind} for all of them)"
        )
    with _store(args) as store:
        object_id = None
        if ident:
            object_id = _object_number(args.object, ident)
            if object_id is None:
                object_id = _resolve(store, kind, ident)
        # What the person working may see (storage/access.py): while step 1 is open, no
        # event about a colleague's note or excerpt.
        table = history_table(store, kind, object_id)
    if table.empty:
        print(f"no history for {args.object}")
        return 0
    for row in table.itertuples():
        change = json.dumps(row.after, default=str) if row.after else ""
        print(
            f"{row.at:%Y-%m-%d %H:%M:%S} {row.actor} {row.action} "
            f"{row.object_type}:{row.object_id} {row.detail} {change}".rstrip()
        )
    return 0


#: The largest id a database stores (a signed 64-bit integer, SQLite and PostgreSQL).
_MAX_ID = 2**63 - 1


def _object_number(given: str, ident: str) -> int | None:
    """The object number in ``kind:NUMBER`` (None when ``ident`` is a name, not a number)."""
    if not (ident.isascii() and ident.isdigit()):
        return None
    number = int(ident)
    if number > _MAX_ID:
        raise InvalidInput(
            f"object number {ident[:30]}{'...' if len(ident) > 30 else ''} is too large "
            f"(objects are numbered from 1 to {_MAX_ID})",
            place=given.partition(":")[0],
        )
    return number


def _resolve(store, kind: str, ident: str) -> int:
    finders = {
        "partnership": store.partnership,
        "participant": store.participant,
        "researcher": store.researcher,
        "transcript": store.transcript,
    }
    if kind not in finders:
        raise CoprodError(f"give {kind} objects by number, e.g. {kind}:3")
    return finders[kind](ident).id


def cmd_pseudonym(args) -> int:
    with _store(args) as store:
        n = store.set_pseudonym(args.real_name, args.pseudonym)
    print(f"pseudonym set; {plural(n, 'turn')} changed")
    return 0


def cmd_speakers(args) -> int:
    with _store(args) as store:
        if args.map:
            label, person = args.map
            n = store.map_speaker(label, person)
            print(f"{plural(n, 'turn')} of {label!r} linked to {person!r}")
            return 0
        unmatched = store.unmatched_speakers()
    if not unmatched:
        print("every speaker is matched to a participant or researcher")
    for label, titles in unmatched.items():
        print(f"{label}: {', '.join(titles)}")
    return 0


def cmd_notes(args) -> int:
    from coprod_nb.exchange.notes import write_notes

    with _store(args) as store:
        me = store.acting_researcher()
        whose = args.researcher or (me.name if me is not None else None)
        if whose is None:
            raise CoprodError(
                f"you are {store.actor}, who is not a researcher of this study: "
                "there are no notes of yours (name a researcher with --researcher once "
                "step 1 is closed)"
            )
        # Blinding applies (storage/access.py): a colleague's notes only once step 1 is
        # closed; real names of the key are replaced, as in every export.
        out, made = write_notes(
            store,
            args.format,
            args.out,
            researcher=whose,
            partnership=args.partnership,
            category=args.category,
            force=args.force,
        )
    print(f"{plural(len(made.notes), 'note')} written to {out}")
    return 0


def cmd_close_recall(args) -> int:
    with _store(args) as store:
        closure = store.close_recall()  # the person working must be the lead
        from coprod_nb.exchange.refi_qda import finish_qdpx_import

        finish_qdpx_import(store)  # notes of an imported project become evidence
    print(
        f"step 1 closed on {closure.closed_at:%Y-%m-%d} by {closure.closed_by}; "
        f"{plural(len(closure.snapshot['notes']), 'note')} now visible to the team"
    )
    return 0


def cmd_team(args) -> int:
    from coprod_nb.storage.team import apply_team_roles

    with _store(args) as store:
        print(apply_team_roles(store))
    return 0


def cmd_resource_pack(args) -> int:
    from coprod_nb.exchange.pack_builder import write_resource_pack

    with _store(args) as store:
        path = write_resource_pack(store, args.format, args.out, args.version, force=args.force)
    print(f"resource pack written to {path}")
    return 0


def cmd_decisions(args) -> int:
    from coprod_nb.domain.decisions import read_decision_log

    with _store(args) as store:
        if args.action == "apply":
            if not args.arg:
                raise CoprodError("give the decision log file: decisions DIR apply FILE")
            path = Path(args.arg)
            from coprod_nb.ingest.limits import read_text_capped

            text = read_text_capped(path, what="decision log")
            decisions = read_decision_log(text, source=path.name)
            try:
                refs = store.record_decisions(args.workshop, decisions)
            except CoprodError as exc:
                # record_decisions checks the whole log, then writes it in one
                # transaction: a refusal means that not one decision was written.
                raise CoprodError(f"{path.name}: {exc} (nothing was applied)") from exc
            print(f"{plural(len(refs), 'decision')} applied: {', '.join(refs)}")
        elif args.action == "revert":
            if not args.arg:
                raise CoprodError("give the decision to revert: decisions DIR revert D3")
            store.revert_decision(args.workshop, args.arg, rationale=args.rationale or "")
            print(f"{args.arg} reverted")
        for d in store.decisions(args.workshop):
            print(f"{d.ref}: {d.summary()}")
        print(
            "framework now: "
            + ", ".join(
                f"{t.code} {t.name}" for t in store.current_framework(args.workshop).tensions
            )
        )
    return 0


def cmd_report(args) -> int:
    from coprod_nb.exchange.report import write_report

    if args.real_names:
        print(
            "warning: this report contains REAL NAMES; keep it within the research team",
            file=sys.stderr,
        )
    with _store(args) as store:
        workshop = _workshop_ref(store, args.workshop) if args.workshop else None
        path = write_report(
            store,
            args.format,
            args.out,
            real_names=args.real_names,
            version=args.framework,
            workshop=workshop,
            force=args.force,
        )
    print(f"report written to {path}")
    return 0


def _workshop_ref(store, ref: str) -> int:
    """A workshop given on the command line by its id or its date (YYYY-MM-DD)."""
    if ref.isdigit():
        return store.workshop(int(ref)).id
    found = [ws.id for ws in store.workshops() if f"{ws.date:%Y-%m-%d}" == ref]
    if len(found) != 1:
        raise CoprodError(
            f"no workshop on {ref}" if not found else f"several workshops on {ref}: give its id"
        )
    return found[0]


def cmd_export(args) -> int:
    if args.real_names:
        print("warning: this export contains REAL NAMES of participants", file=sys.stderr)
    with _store(args) as store:
        if args.format == "qdpx":
            from coprod_nb.exchange.refi_qda import export_qdpx

            path = export_qdpx(store, args.out, real_names=args.real_names, force=args.force)
        else:
            from coprod_nb.exchange.tables import export_tables

            path = export_tables(
                store, args.format, args.out, real_names=args.real_names, force=args.force
            )
    print(f"exported to {path}")
    return 0


def cmd_course(args) -> int:
    from coprod_nb import course

    if args.progress:
        table = course.course_progress(args.dir)
        print(table.to_string(index=False))
        return 0
    if args.setup_home:
        login, dest = args.setup_home
        written = course.setup_home(args.dir, login, dest, force=args.force)
        env = course.student_environment(args.dir, login)
        print(
            f"{len(written)} notebooks copied into {dest} for {login}; their server's "
            "environment: " + " ".join(f"{k}={v}" for k, v in env.items())
        )
        return 0
    if args.materials:
        from coprod_nb.teaching.materials import write_materials

        for path in write_materials(args.dir, args.materials, force=args.force):
            print(f"written {path}")
        return 0
    acts = {
        "close_recall": lambda: course.close_recall_groups(args.dir, args.group, actor=args.actor),
        "freeze": lambda: course.freeze_groups(
            args.dir, args.group, label=args.label or "", actor=args.actor
        ),
    }
    for act, run in acts.items():
        if getattr(args, act):
            for row in run().itertuples():
                print(f"group {row.group} ({row.study}): {row.status}")
            return 0
    if args.links:
        table = course.roleplay_links(args.dir, args.links, args.group, actor=args.actor)
        if not len(table):
            print("no role-play workshop set up yet (coprod-nb course DIR --roleplay)")
        for row in table.itertuples():
            print(
                f"group {row.group}: {row.participant} (played by {row.student}, "
                f"login {row.login}): {row.link}"
            )
        return 0
    if args.roleplay:
        result = course.roleplay_workshop(args.dir, args.date, args.group, actor=args.actor)
        for row in result.itertuples():
            print(f"group {row.group} ({row.study}): {row.status}")
        cast = course.course_cast(args.dir)
        if len(cast):
            print()
            print(cast.to_string(index=False))
            print("\nthe leaders' links for the participant app come from:")
            for study in cast["study"].unique():
                print(f"  coprod-nb serve-workshop {Path(args.dir) / study}")
        return 0
    created = course.create_course(
        args.dir,
        course.read_roster(args.roster, instructor=args.instructor)
        if args.roster
        else args.students,
        group_size=args.group_size,
        instructor=args.instructor,
        name=args.name,
        db=args.db,
    )
    print(course.course_summary(created))
    return 0


def cmd_serve_workshop(args) -> int:
    from coprod_nb.participant_app import serve

    if args.revoke:
        # After the workshop: no link should open the study any more.
        with _store(args) as store:
            ws = store.workshop(args.workshop)
            n = store.revoke_links(ws.id)
        print(f"{n} personal link{'s' if n != 1 else ''} revoked for workshop {ws.id}")
        return 0
    plan = serve.prepare(
        args.dir,
        url=args.db,
        workshop=args.workshop,
        host=args.host,
        port=args.port,
        base_url=args.base_url,
        public_url=args.public_url,
        new_links=args.new_links,
        actor=args.actor,
        behind_proxy=args.behind_proxy,
    )
    if plan.warning:
        print(f"warning: {plan.warning}", file=sys.stderr)
    print(plan.describe(), flush=True)
    if args.dry_run:
        print("dry run, not serving: " + " ".join(plan.command))
        return 0
    print(f"Serving on {plan.root} (Ctrl-C stops the server).", flush=True)
    return serve.run(plan)


def cmd_synth(args) -> int:
    from coprod_nb.seed.synth import run

    return run(args)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _force_option(p: argparse.ArgumentParser) -> None:
    # One rule for every output (coprod_nb/exchange/outputs.py): an existing file is
    # replaced only when asked, and never the study's database or its backups.
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the output if it exists (never the study's database or its backups)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", help="SQLAlchemy URL of the study database (default: $COPROD_DB, else DIR/study.db)"
    )
    common.add_argument(
        "--as",
        dest="actor",
        help="who is acting, on a SQLite study (default: $COPROD_USER, $JUPYTERHUB_USER or "
        "the login name); on a database server the role decides",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    parser = argparse.ArgumentParser(prog="coprod-nb", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", parents=[common], help="create a study folder")
    p.add_argument("dir")
    p.add_argument("--name", help="the study's name")
    p.add_argument("--manifest", help="a study.toml describing partnerships, people, transcripts")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "import",
        parents=[common],
        help="import transcript files or folders, or a REFI-QDA .qdpx project",
    )
    p.add_argument("dir")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--partnership", help="partnership (short name) of every file")
    p.add_argument("--date", type=date.fromisoformat, help="conversation date, YYYY-MM-DD")
    p.add_argument("--participant", action="append", help="participant (repeatable)")
    p.add_argument("--interviewer", action="append", help="interviewing researcher (repeatable)")
    p.add_argument("--title", help="title (one file only)")
    p.add_argument("--speaker-pattern", help="regex with (?P<speaker>..) and (?P<text>..) groups")
    p.add_argument(
        "--encoding",
        help="encoding of text files that are neither UTF-8 nor marked by a BOM (e.g. cp1252)",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="import the good files even if some are bad (exit status still 1)",
    )
    p.add_argument(
        "--lead",
        metavar="NAME",
        help="a .qdpx project: the user who becomes the study's lead (default: the first "
        "user with a note)",
    )
    p.add_argument(
        "--media",
        metavar="FILE",
        help="the conversation's recording (audio or video; one transcript file only), "
        "copied into DIR/media/",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("demo", parents=[common], help="build the fictional demo study")
    p.add_argument("dir")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "notebooks",
        help="copy the working notebooks (and the tour, into DIR/tour) to open in JupyterLab",
    )
    p.add_argument("dir")
    p.add_argument("--force", action="store_true", help="overwrite notebooks already in DIR")
    p.set_defaults(func=cmd_notebooks)

    p = sub.add_parser("info", parents=[common], help="what a study holds")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "check",
        parents=[common],
        help="check the record: SQLite's integrity check and the study's own invariants",
    )
    p.add_argument("dir")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "restore",
        parents=[common],
        help="restore the newest backup (or BACKUP) of study.db, keeping the current file aside",
    )
    p.add_argument("dir")
    p.add_argument("backup", nargs="?", help="the backup file (default: the newest)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("search", parents=[common], help="full-text search over all turns")
    p.add_argument("dir")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "history",
        parents=[common],
        help="the event log of an object (KIND:ID, e.g. transcript:1 or partnership:SHORT) "
        "or of every object of a KIND (e.g. note)",
    )
    p.add_argument("dir")
    p.add_argument("object")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "pseudonym", parents=[common], help="replace a real name by a pseudonym everywhere"
    )
    p.add_argument("dir")
    p.add_argument("real_name")
    p.add_argument("pseudonym")
    p.set_defaults(func=cmd_pseudonym)

    p = sub.add_parser(
        "notes", parents=[common], help="export your step-1 notes (blinding applies)"
    )
    p.add_argument("dir")
    p.add_argument(
        "--researcher",
        help="whose notes (default: yours); a colleague's only once step 1 is closed",
    )
    p.add_argument("--format", choices=["md", "csv"], default="md")
    p.add_argument("--partnership")
    p.add_argument("--category")
    p.add_argument("out")
    _force_option(p)
    p.set_defaults(func=cmd_notes)

    p = sub.add_parser(
        "close-recall",
        parents=[common],
        help="close step 1 (the study lead only): notes become visible to the team",
    )
    p.add_argument("dir")
    p.set_defaults(func=cmd_close_recall)

    p = sub.add_parser(
        "team",
        parents=[common],
        help="PostgreSQL: one login role per researcher, held to the method by the database",
        description=(
            "Run as the study's owner (the role that owns the tables) on a PostgreSQL study: "
            "creates or updates one LOGIN role per researcher, named by the researcher's login "
            "(no password: the DBA sets passwords or other authentication), grants what the "
            "method allows, and installs the row-level security that keeps step 1 blind. "
            "Run it again after adding a researcher, changing the lead or upgrading."
        ),
    )
    p.add_argument("dir")
    p.set_defaults(func=cmd_team)

    p = sub.add_parser(
        "resource-pack",
        parents=[common],
        help="the workshop resource pack of a frozen framework, as HTML or Word",
    )
    p.add_argument("dir")
    p.add_argument("--format", choices=["html", "docx"], default="html")
    p.add_argument("--version", type=int, help="framework version (default: the newest)")
    p.add_argument("out", help="output file")
    _force_option(p)
    p.set_defaults(func=cmd_resource_pack)

    p = sub.add_parser(
        "report",
        parents=[common],
        help="the final report: framework, quotes, results, lineage, worksheet, audit trail",
    )
    p.add_argument("dir")
    p.add_argument("--format", choices=["html", "docx", "md"], default="html")
    p.add_argument(
        "--real-names",
        action="store_true",
        help="add the real-name key (the report says so at its top)",
    )
    p.add_argument(
        "--framework",
        type=int,
        metavar="N",
        help="report framework vN (default: the newest frozen; another says so at its top)",
    )
    p.add_argument(
        "--workshop", metavar="ID|DATE", help="the workshop to report (default: open, else newest)"
    )
    p.add_argument("out")
    _force_option(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "export",
        parents=[common],
        help="the study as a REFI-QDA project (.qdpx) or as tables (CSV folder, XLSX)",
    )
    p.add_argument("dir")
    p.add_argument("--format", choices=["qdpx", "csv", "xlsx"], required=True)
    p.add_argument(
        "--real-names",
        action="store_true",
        help="include the real-name key (the output says so at its top)",
    )
    p.add_argument("out")
    _force_option(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "synth",
        parents=[common],
        help="build a large synthetic study (for benchmarks and load tests)",
    )
    from coprod_nb.seed.synth import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "decisions",
        parents=[common],
        help="the workshop's decisions: list, apply FILE (a decision log), revert REF",
    )
    p.add_argument("dir")
    p.add_argument("action", choices=["list", "apply", "revert"])
    p.add_argument("arg", nargs="?", help="the log file (apply) or a decision id (revert)")
    p.add_argument("--workshop", type=int, help="workshop id (default: the latest)")
    p.add_argument("--rationale", help="why a decision is reverted")
    p.set_defaults(func=cmd_decisions)

    p = sub.add_parser(
        "serve-workshop",
        parents=[common],
        help="serve the workshop to participants (Voilà): one personal link each",
    )
    p.add_argument("dir")
    p.add_argument("--workshop", type=int, help="workshop id (default: the latest)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    p.add_argument(
        "--base-url", default="/", help="URL prefix, e.g. behind jupyter-server-proxy (default /)"
    )
    p.add_argument(
        "--public-url", help="the app's address as participants reach it, used in the links"
    )
    p.add_argument(
        "--new-links",
        action="store_true",
        help="issue new links for everyone (earlier links stop working)",
    )
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        help="count bad keys per client address as the proxy on this machine reports it",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="issue the links and print them; do not serve"
    )
    p.add_argument(
        "--revoke", action="store_true", help="revoke every link of the workshop; do not serve"
    )
    p.set_defaults(func=cmd_serve_workshop)

    p = sub.add_parser(
        "speakers", parents=[common], help="list unmatched speakers, or --map LABEL PERSON"
    )
    p.add_argument("dir")
    p.add_argument("--map", nargs=2, metavar=("LABEL", "PERSON"))
    p.set_defaults(func=cmd_speakers)

    p = sub.add_parser(
        "course",
        help="course mode: create a class course (--students N or --roster FILE), "
        "--progress, --roleplay",
    )
    p.add_argument("dir", help="the course folder (new or empty when creating)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--students", type=_positive, metavar="N", help="create: N students")
    what.add_argument(
        "--roster", metavar="FILE", help="create: a CSV with a name and an optional login column"
    )
    what.add_argument("--progress", action="store_true", help="print the progress per student")
    what.add_argument(
        "--roleplay",
        action="store_true",
        help="set up role-play workshops for groups that froze framework v1; print the cast",
    )
    what.add_argument(
        "--close-recall", action="store_true", help="close step 1 (all groups, or --group N)"
    )
    what.add_argument(
        "--freeze",
        action="store_true",
        help="freeze the agreed tensions as the next framework version (all groups or --group N)",
    )
    what.add_argument(
        "--links",
        metavar="HUB_URL",
        help="issue the role-players' personal links through the hub (HUB_URL/services/...)",
    )
    what.add_argument(
        "--setup-home",
        nargs=2,
        metavar=("LOGIN", "DEST"),
        help="copy the working notebooks into a course member's home folder DEST",
    )
    what.add_argument(
        "--materials", metavar="OUT", help="write answer keys, facilitator scripts and slides"
    )
    p.add_argument("--group", type=_positive, metavar="N", help="act on group N only")
    p.add_argument("--label", help="freeze: the version's label (default vN)")
    p.add_argument(
        "--as",
        dest="actor",
        help="who is acting (default: $COPROD_USER, $JUPYTERHUB_USER or the login name); "
        "the instructor's acts need the course's instructor login",
    )
    p.add_argument("--force", action="store_true", help="replace files that exist")
    p.add_argument("--group-size", type=_positive, default=4, help="create: largest group (4)")
    p.add_argument("--instructor", default="Instructor", help="create: the instructor's name")
    p.add_argument("--name", help="create: the course's name (default: the folder's name)")
    p.add_argument(
        "--db",
        metavar="URL",
        help="create: a PostgreSQL course, postgresql://OWNER@HOST/BASE (one database per group)",
    )
    p.add_argument(
        "--date", type=date.fromisoformat, help="role-play: workshop date, YYYY-MM-DD (today)"
    )
    p.set_defaults(func=cmd_course)
    return parser


def _user_error(args, exc: Exception) -> CoprodError | None:
    """The one translation of a database or OS failure into a message (None: a bug).

    A damaged SQLite file names the file and the newest backup; an OS error names the
    file and what the system said. Programming errors keep their traceback.
    """
    import sqlite3

    from sqlalchemy.exc import DatabaseError

    from coprod_nb.storage.database import damage_reason, damaged_study, database_url

    reason = damage_reason(exc)
    if reason is not None and getattr(args, "dir", None):
        from sqlalchemy.engine import make_url

        file = make_url(database_url(args.dir, getattr(args, "db", None))).database
        return damaged_study(file or args.dir, args.dir, reason)
    if isinstance(exc, DatabaseError | sqlite3.Error):
        return CoprodError(
            f"the study database refused the command: {getattr(exc, 'orig', None) or exc}"
        )
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else getattr(args, "dir", "")
        return CoprodError(f"{where}: {exc.strerror}")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CoprodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `coprod-nb info STUDY | head`: the reader has gone. Point stdout at nowhere, so
        # that Python's flush at exit does not fail again with a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        # A team study on PostgreSQL: the database refused this researcher's role
        # (privileges, row-level security, a lead-only table; see SECURITY.md).
        from coprod_nb.storage.team import database_refusal

        refused = database_refusal(exc) or _user_error(args, exc)
        if refused is None:
            raise
        print(f"error: {refused}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; nothing was changed by the unfinished step", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
