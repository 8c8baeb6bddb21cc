"""The event tests judge events with the taxonomy the shipped sagas use: the runtime's own
(flow) and the Thunderline app's, which loading the app registers (as in every process
that emits or validates its events)."""

from sagaline.apps import load_apps
from thunderline.app import SPEC

load_apps([SPEC], entry_points=False)
