"""Call recordings (issue 17): ingest, storage, playback, integrity, retention. Tables of the calls app."""
