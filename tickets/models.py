"""Models of the tickets app (DESIGN.md §3); built by a later issue."""
