"""The learner's language for messages: English or Chinese, chosen once, used everywhere.

Code cells are identical in ``en/`` and ``zh/`` notebooks, so a message a learner reads (a check's
failure, a stub's error) cannot be picked by the cell: it is picked here, at run time, from

1. the ``COURSEKIT_LANG`` environment variable (``en`` or ``zh``), if set;
2. the notebook the kernel runs: ``JPY_SESSION_NAME`` (set by Jupyter Server) or the kernel's working
   folder, when either has a folder named ``zh`` (``exercises/zh/...``);
3. the locale (``LANG`` / ``LC_ALL`` starting with ``zh``);
4. otherwise English.

Usage in shared code and check cells::

    from coursekit.i18n import tr
    assert ok, tr("the loss must be a scalar", "损失必须是标量")

Nothing here imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LANGS", "current_lang", "set_lang", "tr"]

LANGS = ("en", "zh")
_forced: str | None = None


def _from_path(path: str | os.PathLike | None) -> str | None:
    if not path:
        return None
    parts = Path(str(path)).parts
    if "zh" in parts:
        return "zh"
    if "en" in parts:
        return "en"
    return None


def current_lang() -> str:
    """``"en"`` or ``"zh"``: the language of the learner's notebook (see the module docstring)."""
    if _forced is not None:
        return _forced
    env = os.environ.get("COURSEKIT_LANG", "").strip().lower()
    if env in LANGS:
        return env
    for where in (os.environ.get("JPY_SESSION_NAME"), _safe_cwd()):
        lang = _from_path(where)
        if lang:
            return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _safe_cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def set_lang(lang: str | None) -> None:
    """Force a language for this process (``None`` goes back to detection)."""
    global _forced
    if lang is not None and lang not in LANGS:
        raise ValueError(f"The 'lang' parameter of set_lang must be one of {LANGS} or None. Got {lang!r} instead.")
    _forced = lang


def tr(en: str, zh: str, /, **fields) -> str:
    """The message in the learner's language; ``fields`` are formatted into it (``{name}``)."""
    text = zh if current_lang() == "zh" else en
    return text.format(**fields) if fields else text
