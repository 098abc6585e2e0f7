"""The coursekit command line: ``python -m coursekit ...`` (also installed as ``coursekit``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def project_root() -> Path:
    """The course checkout: the folder holding coursekit/ (an editable install)."""
    return Path(__file__).resolve().parent.parent


def _exercises(args) -> int:
    from coursekit import exercises

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


LAB_SETTINGS = {
    # a double-click on a lesson .py opens it as a notebook (jupytext), not in the text editor
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}},
}


def lab_settings_path(prefix: str | None = None) -> Path:
    """JupyterLab's settings overrides file inside this environment (not the user's config)."""
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def _setup_lab(args) -> int:
    import json

    path = lab_settings_path(args.prefix)
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for plugin, values in LAB_SETTINGS.items():
        current.setdefault(plugin, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    print(f"JupyterLab settings for this course written to {path}")
    return 0


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
