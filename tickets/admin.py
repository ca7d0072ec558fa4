"""Admin registration of the tickets app's models (none yet)."""
