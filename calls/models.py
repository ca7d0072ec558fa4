"""Models of the calls app (DESIGN.md §3); built by a later issue."""
