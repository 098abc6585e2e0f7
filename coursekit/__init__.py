"""coursekit: tested reference implementations for the Lighter & Faster (更轻·更快) course.

Importing coursekit does nothing else: no downloads, no prints, no global style changes.
"""

from coursekit.train import seed_everything

__version__ = "0.1.0"
__all__ = ["__version__", "seed_everything"]
