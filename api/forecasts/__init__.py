"""The forecast domain: inputs from the served data, jobs (embedded or Celery), schemas, routes."""
