"""Workforce management: forecast (``forecast``), staffing (``erlang``), roster (``roster``,
checked by ``validate``). Issue 18; ``docs/wfm.md``."""
