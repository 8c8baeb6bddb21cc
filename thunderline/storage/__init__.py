"""The Thunderline domains' SQLite stores (gate, block, link, bolt, crown), over :mod:`sagaline.storage`."""
