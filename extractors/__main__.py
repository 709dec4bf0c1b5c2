"""`python -m extractors`: see `extractors.social.cli`."""

import sys

from extractors.social.cli import main

sys.exit(main())
