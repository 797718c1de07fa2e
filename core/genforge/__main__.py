"""``python -m genforge``: the same as the ``genforge`` command."""

import sys

from genforge.cli import main

sys.exit(main())
