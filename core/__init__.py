"""The bottom layer every app stands on: written-out row statements (``rows``), the retry loop
(``db``), domain errors, the full-number rule (``pii``), the API edges (``api``), middleware,
the access-log redaction and the start-up guard. It imports no app of the project."""
