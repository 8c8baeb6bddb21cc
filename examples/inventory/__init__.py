"""Inventory: a complete small sagaline app (the README's "Write your own saga" walks through it).

::

    messages   PURE  the stock domain's commands and replies
    saga       PURE  place_order: reserve stock -> charge the card -> confirm
    store            the stock domain's SQLite tables (over sagaline.storage)
    service          the stock domain's logic (plain async code over the store)
    actor            the stock domain actor (a DomainActor: one process, one database)
    app              the App record the daemon loads: ``apps = ["inventory.app:app"]``
"""
