"""Models of the banking app (DESIGN.md §3); built by a later issue."""
