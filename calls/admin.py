"""Admin registration of the calls app's models (none yet)."""
