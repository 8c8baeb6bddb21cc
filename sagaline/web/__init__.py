"""The web console: runs, timelines, the supervision tree and live events in a browser.

``sagaline web`` (or ``[web] enabled = true`` in the daemon's config) serves
it. It reads the daemon **only through the public client**
(:class:`sagaline.AsyncClient`; admin requests through ``request``), and a
run's trace spans from the JSON-lines files the daemon writes under
``<data_dir>/telemetry`` (as ``sagaline runs trace`` does); it never talks
to an actor any other way.

Layers (imports run one way; the pure ones are checked by ``tests/test_purity.py``)::

    settings   PURE  WebSettings (the [web] section), loopback rule
    redact     PURE  secret-looking values masked before anything is rendered
    views      PURE  runs filters, counts, a run's facts and allowed actions, the tree, events
    gantt      PURE  trace spans (or step times) -> timeline rows
    graph      PURE  a saga's steps and dependencies -> a layered SVG layout, coloured by step state
    forms      PURE  a saga's typed input schema -> form fields, and form text -> typed inputs
    guard      PURE  session tokens, the Origin/Host checks, security headers
    traces           reads span files incrementally (offsets kept per file)
    gateway          the AsyncClient, reconnected when the daemon restarts
    feeds            live views: one shared poll per view, pushed to browsers as server-sent events
    app              the Starlette application: pages, forms, live streams
    server           uvicorn on the chosen socket; ``sagaline web``
    process          the daemon's child process serving the console

Only :mod:`sagaline.web.settings` is imported here: the daemon's config
needs it, and Starlette, uvicorn and Jinja2 come from the ``web`` extra
(``pip install 'sagaline[web]'``).
"""

from sagaline.web.settings import DEFAULT_WEB_PORT, WebSettings

__all__ = ["WebSettings", "DEFAULT_WEB_PORT"]
