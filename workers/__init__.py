"""Celery workers, the Redis result cache and job state: the forecast service."""
