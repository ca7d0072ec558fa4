"""Admin registration of the ivr app's models (none yet)."""
