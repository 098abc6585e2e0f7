"""coursekit: tested reference implementations for the Lighter & Faster (更轻·更快) course.

Importing coursekit does nothing else: no downloads, no prints, no global style changes, and no
torch (the course machinery imports coursekit without it); ``seed_everything`` loads
``coursekit.train`` on first use.
"""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("coursekit")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "seed_everything"]


def __getattr__(name: str):
    if name == "seed_everything":
        from coursekit.train import seed_everything

        return seed_everything
    raise AttributeError(f"module 'coursekit' has no attribute {name!r}")
