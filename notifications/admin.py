"""Admin registration of the notifications app's models (none yet)."""
