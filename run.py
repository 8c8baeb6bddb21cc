"""Start sagaline's main job: the daemon (``make run`` runs this).

``python run.py [flags]`` is ``sagaline run [flags]``: configuration from a
TOML file (``--config`` or ``$SAGALINE_CONFIG``), ``SAGALINE_*`` environment
variables and flags, in that order of precedence; it serves until SIGTERM or
SIGINT (Ctrl-C), then stops everything it started. See the README's
Quickstart and Configuration sections, and ``python run.py --help``.
"""

import sys

from sagaline.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
