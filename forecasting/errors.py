"""Errors raised by the forecasting core.

Every error is a ``ValueError`` so that notebook users get the familiar type,
and every message names the offending field or parameter and the bad value.
Errors about one field carry ``field`` (a dotted path such as
``"scenario.drivers.japan_defence_spending[2031]"``) so that the API can build
the field list of an ``application/problem+json`` body.

The tree::

    ValueError
    └── ForecastingError
        ├── InvalidScenario   a scenario, horizon or interval width is not valid
        ├── InvalidTarget     the country or measure cannot be forecast
        ├── InvalidInputs     the data handed in (ForecastInputs) is malformed
        ├── InsufficientData  too few usable years to fit or backtest
        └── NotFittedError    a model is used before it was fitted, or with
                              settings it was not fitted with
"""

from __future__ import annotations

__all__ = [
    "ForecastingError",
    "InsufficientData",
    "InvalidInputs",
    "InvalidScenario",
    "InvalidTarget",
    "NotFittedError",
]


class ForecastingError(ValueError):
    """Base class of every error raised by :mod:`forecasting`.

    Parameters
    ----------
    message
        Human-readable message naming the field and the bad value.
    field
        Dotted path of the offending field, or ``None`` when the error does
        not concern one field.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidScenario(ForecastingError):
    """A scenario, or a request parameter such as the horizon, is not valid."""


class InvalidTarget(ForecastingError):
    """The target (country and measure) is not valid or cannot be forecast."""


class InvalidInputs(ForecastingError):
    """The plain-data inputs are malformed (a data problem, not a user error)."""


class InsufficientData(ForecastingError):
    """Too few usable years remain to fit a model or run a backtest."""


class NotFittedError(ForecastingError):
    """A model was used before fitting, or with settings it was not fitted with."""
