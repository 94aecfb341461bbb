"""`python -m loadprofile.mock`: run the mock target (see `loadprofile.mock.server`)."""

import sys

from loadprofile.mock.server import main

if __name__ == "__main__":
    sys.exit(main())
