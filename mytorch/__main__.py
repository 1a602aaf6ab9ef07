"""``python -m mytorch``: the command line (see :mod:`mytorch.cli`)."""

import sys

from mytorch.cli import main

sys.exit(main())
