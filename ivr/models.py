"""Models of the ivr app (DESIGN.md §3); built by a later issue."""
