"""`python -m monitor ...` is the `monitor` command."""

import sys

from monitor.cli import main

sys.exit(main())
