"""Start sagaline's main job (placeholder until the daemon lands)."""
