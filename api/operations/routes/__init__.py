"""Operational routes: health, admin, dashboard, docs, problem pages."""
