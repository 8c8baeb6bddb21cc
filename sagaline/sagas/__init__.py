"""PURE. Start admission: checking a StartSaga before anything starts (:mod:`sagaline.sagas.admission`).

The sagas themselves come from the loaded apps (:mod:`sagaline.apps`); the
ones sagaline ships are the Thunderline app's (:mod:`thunderline.sagas`).
"""
