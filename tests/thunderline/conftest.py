"""The app's tests judge its events with its taxonomy, which loading the app registers (as in
every process that emits or validates them); loaded here so a module run alone sees it too."""

from thunderline.testing import thunderline_apps

thunderline_apps()
