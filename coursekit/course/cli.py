"""The coursekit command line: ``python -m coursekit ...`` (also installed as ``coursekit``).

Imports nothing heavy at start: each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def project_root() -> Path:
    """The course checkout: the folder holding coursekit/ (an editable install)."""
    return Path(__file__).resolve().parents[2]


def _exercises(args) -> int:
    from coursekit.course import exercises

    root = Path(args.root) if args.root else project_root()
    if args.action == "build":
        written = exercises.build(root)
        for path in written:
            print(f"wrote {path.relative_to(root)}")
        print(f"exercises up to date ({len(written)} file(s) written)")
        return 0
    problems = exercises.verify(root)
    for p in problems:
        print(f"stale: {p}", file=sys.stderr)
    if problems:
        print("run `python -m coursekit exercises build` to regenerate exercises/", file=sys.stderr)
        return 1
    print("exercises/ is up to date with solutions/")
    return 0


def _teacher(args) -> int:
    from coursekit.pretrained import pretrained, pretrained_path

    for name in args.names or ["teacher", "student"]:
        pretrained(name, progress=not args.quiet)
        print(f"{name}: {pretrained_path(name)}")
    return 0


def _setup_lab(args) -> int:
    from coursekit.course.labsettings import write_lab_settings

    path = write_lab_settings(args.prefix)
    print(f"JupyterLab settings for this course written to {path}")
    return 0


def _check(args) -> int:
    import json

    from coursekit.course import checklist, notebooks, render
    from coursekit.course.messages import lang_of_path, msg

    _tolerant_stdout()
    root = project_root()
    if args.learner is not None and not args.learner.strip():
        raise ValueError(f"The 'learner' parameter of coursekit check must be a non-empty name. Got {args.learner!r} instead.")
    if args.json:  # fail now, not after running every notebook
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    # the language: --lang, else the first notebook's (a zh/ folder on its path), else English
    lang = args.lang or (lang_of_path(args.notebooks[0]) if args.notebooks else "en")
    flags = f" --lang {args.lang}" if args.lang else ""  # commands we print keep the flag
    paths = []
    for name in args.notebooks or [str(root / "exercises" / lang)]:
        path = Path(name)
        if path.is_dir():
            found = sorted(path.glob("*.py")) + sorted(path.glob("*.ipynb"))
            if not found:
                raise ValueError(f"The folder {name} holds no notebooks (.py or .ipynb).")
            paths += found
        else:
            paths.append(path)
    items = checklist.load_checklist()
    index = notebooks.course_index(root, lang)
    results = []
    for path in paths:
        print(msg(lang, "checking", path=notebooks.display_path(path)), file=sys.stderr, flush=True)
        results.append(notebooks.check_notebook(path, timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                                                lang=lang, index=index))
    statuses = checklist.evaluate(results, items, index)
    report = checklist.build_report(results, statuses, learner=args.learner, lang=lang)
    print(render.render_text(results, statuses, items, lang=lang, learner=report["learner"], flags=flags))
    if args.json:
        out = Path(args.json)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(msg(lang, "json_written", path=out), file=sys.stderr)
    return checklist.exit_code(results, statuses)


def _report(args) -> int:
    from coursekit.course import render, report

    _tolerant_stdout()
    table = report.combine_reports(args.reports, course_version=args.course_version)
    for _, reason in table.rejected:
        print(f"rejected: {reason}", file=sys.stderr)
    for note in table.notes:
        print(f"note: {note}", file=sys.stderr)
    print(render.class_table_text(table, args.lang))
    for target, write in ((args.csv, render.class_table_csv), (args.markdown, render.class_table_markdown)):
        if target:
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            # utf-8-sig: spreadsheet programs then read ✓ and Chinese names correctly
            path.write_text(write(table, args.lang), encoding="utf-8-sig" if write is render.class_table_csv
                            else "utf-8")
            print(f"wrote {path}", file=sys.stderr)
    if table.rejected:
        print(f"{len(table.rejected)} of {len(args.reports)} report(s) rejected (see above)", file=sys.stderr)
        return 1
    return 0 if table.rows else 1


def _tolerant_stdout() -> None:
    """✓ and Chinese text must not crash a console whose encoding lacks them."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _positive_seconds(option: str):
    def parse(text: str) -> float:
        from coursekit._validate import check_float

        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a number of seconds, got {text!r}") from None
        try:
            return check_float(option.lstrip("-").replace("-", "_"), value, f"coursekit {option}", low=0,
                               closed="neither")
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def _doctor(args) -> int:
    from coursekit.course import doctor

    findings = doctor.run()
    bad = [f.name for f in findings if not f.ok]
    print("ready for class" if not bad else f"not ready: fix {', '.join(bad)}")
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coursekit", description="Lighter & Faster course tools")
    sub = parser.add_subparsers(dest="command", required=True)

    ex = sub.add_parser("exercises", help="generate exercises/ from solutions/, or check it is current")
    ex.add_argument("action", choices=["build", "verify"])
    ex.add_argument("--root", help="course checkout (default: the one coursekit is installed from)")
    ex.set_defaults(run=_exercises)

    warm = sub.add_parser("pretrain", help="train and cache the models the lessons load")
    warm.add_argument("names", nargs="*", metavar="NAME", help="teacher and/or student (default: both)")
    warm.add_argument("--quiet", action="store_true")
    warm.set_defaults(run=_teacher)

    lab = sub.add_parser("setup-lab", help="write this course's JupyterLab settings into the environment")
    lab.add_argument("--prefix", help="environment prefix (default: the running Python's)")
    lab.set_defaults(run=_setup_lab)

    chk = sub.add_parser("check", help="run exercise notebooks and print the completion checklist",
                         description="Execute exercise notebooks in a real kernel (on a temporary copy; your "
                                     "files are never changed) and print which checklist items they evidence.")
    chk.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                     help="exercise notebooks (.py or .ipynb) or folders (default: every notebook in "
                          "exercises/<lang>/ of the course)")
    chk.add_argument("--lang", choices=["en", "zh"], default=None,
                     help="language of the output (default: the notebook's, zh for a notebook in a zh/ "
                          "folder, else en)")
    chk.add_argument("--json", metavar="PATH", help="also write a machine-readable report for your instructor")
    chk.add_argument("--learner", metavar="NAME", help="your name in the report (default: your user name)")
    chk.add_argument("--timeout", type=_positive_seconds("--timeout"), default=120.0, metavar="SECONDS",
                     help="time limit for each cell (default: 120)")
    chk.add_argument("--notebook-timeout", type=_positive_seconds("--notebook-timeout"), metavar="SECONDS",
                     help="time limit for a whole notebook (default: max(600, 4 x --timeout))")
    chk.set_defaults(run=_check)

    rep = sub.add_parser("report", help="combine learners' JSON reports into a class table",
                         description="Combine the JSON reports written by `coursekit check --json` into one "
                                     "table: learners x checklist items, with per-item counts.")
    rep.add_argument("reports", nargs="+", metavar="REPORT.json")
    rep.add_argument("--csv", metavar="PATH", help="write the table as CSV")
    rep.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    rep.add_argument("--lang", choices=["en", "zh"], default="en", help="language of headers and legend")
    rep.add_argument("--course-version", metavar="VERSION",
                     help="accept only reports of this course version (default: the version most reports have)")
    rep.set_defaults(run=_report)
    doc = sub.add_parser("doctor", help="check that this machine is ready for class (before a lab)")
    doc.set_defaults(run=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as exc:  # a clear message, not a stack trace
        print(f"coursekit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
