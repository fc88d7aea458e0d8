"""``python -m flame_core``: the command line (see :mod:`flame_core.cli`)."""

import sys

from .cli import main

sys.exit(main())
