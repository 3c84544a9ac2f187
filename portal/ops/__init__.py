"""Operations: health and readiness checks, Prometheus metrics, JSON logs with request ids, backups."""
