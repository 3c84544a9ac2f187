"""Background jobs: RQ queues over Redis when REDIS_URL is set, the same functions in-process otherwise."""
