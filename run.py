"""Start sagaline's main job.

Until the daemon lands (issue: the daemon and the admin CLI shell), the main
job is the in-process demo: one saga through success, rollback and retry.
"""

import sys

from sagaline.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["demo"]))
