"""The course lab's contents manager: jupytext's (lessons stored as ``.py`` open as notebooks), plus the
kernel's ``language_info`` in a lesson's metadata when it is served.

Why: the lessons store no ``language_info`` (it names the Python version, which differs per learner).
JupyterLab fills it in when a notebook opens (``{"name": ""}``) and again from the kernel, and either
change marks the notebook as modified: every lesson showed the unsaved-changes dot as soon as it
opened, and closing it asked to save a lesson nobody had edited. Served with the kernel's own
``language_info`` (this environment's Python, the one the ``python3`` kernel runs), nothing changes.
On save, jupytext.toml's metadata filter leaves ``language_info`` out of the file again.

Configured by ``python -m coursekit setup-lab`` (``ServerApp.contents_manager_class``); jupytext's
server extension sees a jupytext manager already and leaves it in place.
"""

from __future__ import annotations

import sys

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

__all__ = ["CourseContentsManager", "kernel_language_info"]

_LANGUAGE_INFO: dict | None = None


def kernel_language_info() -> dict:
    """The ``language_info`` that this environment's ``python3`` kernel (ipykernel) reports."""
    global _LANGUAGE_INFO
    if _LANGUAGE_INFO is None:
        try:
            from ipykernel.ipkernel import IPythonKernel

            _LANGUAGE_INFO = dict(IPythonKernel.language_info)
        except ImportError:  # the same fields ipykernel 6-7 report
            _LANGUAGE_INFO = {
                "name": "python", "version": sys.version.split()[0], "mimetype": "text/x-python",
                "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
                "pygments_lexer": "ipython3", "nbconvert_exporter": "python", "file_extension": ".py",
            }
    return _LANGUAGE_INFO


class CourseContentsManager(build_async_jupytext_contents_manager_class(AsyncLargeFileManager)):
    """jupytext's contents manager; notebooks for the python3 kernel come with its ``language_info``."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        notebook = model.get("content") if model.get("type") == "notebook" else None
        if isinstance(notebook, dict):
            metadata = notebook.setdefault("metadata", {})
            if "language_info" not in metadata and metadata.get("kernelspec", {}).get("name") == "python3":
                metadata["language_info"] = kernel_language_info()
        return model
