"""Keep the built-in scenarios of the watched countries computed, so a dashboard never waits.

The API publishes the warm set (job payloads for every built-in scenario of Japan and the
configured peers, at the current data version) at start-up and after every ingest; the
Celery beat task ``tivcast.cache.warm`` re-enqueues any entry whose result has gone missing
(expired, evicted, or Redis restarted empty). Workers cannot read the database, which is why
the API, not the beat task, assembles the payloads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from api.datasets.catalog import Snapshot
from api.errors import TivcastError
from api.forecasts.inputs import InputsCache
from forecasting import SCENARIOS, ForecastingError
from workers.client import ForecastService, Unavailable
from workers.requests import JobSpec, forecast_job

log = logging.getLogger(__name__)


def warm_specs(engine: Engine, snapshot: Snapshot, inputs: InputsCache, countries: Sequence[str]) -> list[JobSpec]:
    """Job specs of every applicable built-in scenario (share) for each country that has data."""
    specs: list[JobSpec] = []
    for country in countries:
        try:
            country_inputs = inputs.load(engine, snapshot, country)
        except (TivcastError, ForecastingError) as exc:  # a peer without data must not stop the others
            log.warning("warm: no inputs for %s: %s", country, exc)
            continue
        for name in SCENARIOS:
            body = {"target": {"country": country_inputs.country, "measure": "share"}, "scenario": name}
            try:
                specs.append(forecast_job(body, country_inputs))
            except ForecastingError as exc:  # e.g. Japan's policy scenarios for another country
                log.info("warm: %s/%s not applicable: %s", country, name, exc)
    return specs


async def publish_warm_set(service: ForecastService, specs: Sequence[JobSpec]) -> int:
    """Publish the warm set (the service computes what is missing); returns how many entries it has,
    -1 when the forecast service is unavailable. Never raises for that."""
    try:
        await service.publish_warm(list(specs))
    except Unavailable:
        log.warning("warm: forecast service unavailable; will retry")
        return -1
    return len(specs)
