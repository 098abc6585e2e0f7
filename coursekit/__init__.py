"""coursekit: tested reference implementations for the Lighter & Faster (更轻·更快) course.

Importing coursekit does nothing else: no downloads, no prints, no global style changes, and no
torch (the course machinery in ``coursekit.course`` runs without it).
"""

from importlib import metadata as _metadata

try:  # the one version number is pyproject.toml's
    __version__ = _metadata.version("coursekit")
except _metadata.PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "seed_everything"]


def __getattr__(name):
    if name == "seed_everything":  # imported on first use: it needs torch
        from coursekit.train import seed_everything

        return seed_everything
    raise AttributeError(f"module 'coursekit' has no attribute {name!r}")
