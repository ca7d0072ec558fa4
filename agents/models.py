"""Models of the agents app (DESIGN.md §3); built by a later issue."""
