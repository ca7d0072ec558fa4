"""Models of the notifications app (DESIGN.md §3); built by a later issue."""
