"""``python -m loadprofile`` is the ``loadprofile`` command."""

import sys

from loadprofile.cli import main

sys.exit(main())
