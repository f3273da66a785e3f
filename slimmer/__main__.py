"""`python -m slimmer` is `slim`."""

import sys

from slimmer.cli import main

sys.exit(main())
