"""``python -m iqpgen.cli``: the ``iqpgen`` command line."""

import sys

from . import main

sys.exit(main())
