"""Models of the reports app (DESIGN.md §3); built by a later issue."""
