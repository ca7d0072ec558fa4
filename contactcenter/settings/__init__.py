"""Settings package: ``base`` holds everything, the other modules override a little.

The mode (embedded default or full stack) comes from the environment, never from
which module is chosen: ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and
Redis with the same code.
"""
