"""This course's JupyterLab settings, written into the environment (never the learner's own config)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["LAB_SETTINGS", "lab_settings_path", "write_lab_settings"]

LAB_SETTINGS = {
    # a double-click on a lesson .py opens it as a notebook (jupytext), not in the text editor
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}},
}


def lab_settings_path(prefix: str | None = None) -> Path:
    """JupyterLab's settings overrides file inside this environment (not the user's config)."""
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def write_lab_settings(prefix: str | None = None) -> Path:
    """Merge :data:`LAB_SETTINGS` into the environment's overrides file; returns its path."""
    path = lab_settings_path(prefix)
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for plugin, values in LAB_SETTINGS.items():
        current.setdefault(plugin, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return path
