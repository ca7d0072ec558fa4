"""Admin registration of the reports app's models (none yet)."""
