"""Apps: how sagas, domain actors and admin commands reach the runtime.

The runtime ships no saga of its own. A package declares an :class:`App`
(its sagas, its domain actors, its admin commands, the message classes it
sends and the events it announces) and the daemon loads it from its config
(``apps = ["mypkg.app:app"]``, ``SAGALINE_APPS``, ``--app``) or from the
``sagaline.apps`` entry-point group. The Thunderline sagas are such an app
(``thunderline.app:app``, enabled by the embedded default config).

::

    from sagaline.apps import App, AppCommand, AppDomain

    app = App(name="shop", sagas=[checkout.definition],
              domains=[AppDomain("stock", StockActor, settings=StockSettings)],
              commands=[AppCommand("restock", "stock", Restock, help="add items")],
              messages=[shop.messages])

    apps = load_apps(["shop.app:app"])        # -> Apps (checked; raises AppError)
    apps.definition("checkout")               # a SagaDefinition
    apps.domain_actors()                      # {"flow": ..., "stock": "shop.actors.StockActor"}
    apps.command("restock")                   # an AppCommand
    apps.message_classes()                    # the message classes the apps declare

Errors::

    SagalineError
    +-- AppError      a spec does not import, a declaration is bad, or two apps clash
                      (.app, .field: the message names both); raised at daemon start
"""

from sagaline.apps.catalog import Apps
from sagaline.apps.loading import ENTRY_POINT_GROUP, load_apps, resolve_specs
from sagaline.apps.model import App, AppCommand, AppDomain, AppError

__all__ = ["App", "AppCommand", "AppDomain", "AppError", "Apps", "ENTRY_POINT_GROUP", "load_apps", "resolve_specs"]
