"""Admin registration of the agents app's models (none yet)."""
