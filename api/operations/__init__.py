"""Operations: security (admin key, rate limits, CORS), metrics, logging, health, admin, dashboard."""
