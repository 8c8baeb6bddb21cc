"""PURE. The Thunderline sagas: UserProvisioning, UPMActivation, CerebrosNAS.

Each module has ``NAME`` and ``definition()``, a zero-argument factory of
its :class:`~sagaline.saga.SagaDefinition`; the app (:mod:`thunderline.app`)
declares the factories.
"""
