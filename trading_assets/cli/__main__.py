"""``python -m trading_assets.cli``: the ``tradegraph`` command (the services' processes start it so)."""

import sys

from trading_assets.cli import main

sys.exit(main())
