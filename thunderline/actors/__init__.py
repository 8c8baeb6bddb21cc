"""The Thunderline domain actors (gate, block, link, bolt, crown), the cerebros bridge and its trainers."""
