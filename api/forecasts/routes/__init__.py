"""Routes of the forecast API."""
