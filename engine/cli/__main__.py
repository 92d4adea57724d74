"""``python -m engine.cli``: the headless command line, as ``python -m engine``."""

import sys

from engine.cli.entry import main

if __name__ == "__main__":
    sys.exit(main())
