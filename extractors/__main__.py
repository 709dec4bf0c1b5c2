"""`python -m extractors`: see `extractors.cli`."""

import sys

from extractors.cli import main

sys.exit(main())
