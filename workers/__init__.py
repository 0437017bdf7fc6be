"""Celery workers, the Redis result cache and job state: the forecast service.

Modules (the API may import those marked *, never the others, which load the model):

``settings``*    :class:`WorkerSettings` (``TIVCAST_*``), the chain of time limits checked at start-up
``requests``*    :class:`JobSpec` and its builders (content keys; bad input raises forecasting's errors)
``jobs``*        :class:`Job`, job state in Redis (Lua transitions), key names
``cache``*       the in-process LRU of result bodies in front of Redis
``breaker``*     the circuit breaker in front of Redis
``client``*      :class:`ForecastService`, :class:`RedisService`, :class:`Unavailable`, ``make_service``
``embedded``*    :class:`EmbeddedService` (no Redis: a process pool inside the API)
``celery_app``*  the Celery app (``celery -A workers.celery_app``) and ``make_celery``
``cli``*         ``worker`` and ``beat`` commands
``runtime``      per-process Redis client, heartbeat and signal wiring of a worker
``scratch``*    each worker's own temporary root, swept after lost processes
``consumer``     the worker's Celery consumer (a fixed broker reconnect interval)
``tasks``        ``tivcast.forecast.run`` and ``tivcast.cache.warm``
``compute``      payload -> forecasting -> result bytes (imports the model)
"""
