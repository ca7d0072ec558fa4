"""Admin registration of the banking app's models (none yet)."""
