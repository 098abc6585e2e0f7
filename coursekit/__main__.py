"""``python -m coursekit ...``: the command line lives in :mod:`coursekit.course.cli`."""

import sys

from coursekit.course.cli import main

if __name__ == "__main__":
    sys.exit(main())
