"""Exceptions and warning categories raised by churnpredict."""

from __future__ import annotations

__all__ = [
    "ChurnDataError",
    "ChurnModelError",
    "ChurnParameterError",
    "BundleError",
    "ResourceLimitError",
    "DataQualityWarning",
    "LeakageWarning",
    "ModelQualityWarning",
    "SeasonWarning",
]


class ChurnDataError(ValueError):
    """Input tables do not meet the input contract.

    The message names the table, the column, a few offending values and the fix.

    Parameters
    ----------
    message : str
        The message, with the fix as Python arguments (``columns={...}``).
    config_message : str, optional
        The same message with the fix as a line of the TOML config (``[columns.payments]
        your_name = "status"``), which the command line shows instead.
    """

    def __init__(self, message: str = "", *, config_message: str | None = None) -> None:
        super().__init__(message)
        self.config_message = config_message


class ChurnModelError(ValueError):
    """A model or pipeline was used in a way it cannot support (e.g. unseen features)."""


class ChurnParameterError(ChurnModelError):
    """A parameter of an estimator or a feature builder has a value it cannot take.

    Raised by the declared parameter checks (:mod:`churnpredict._params`); the message names
    the parameter, the value and what is expected. A ``ValueError`` (through
    :class:`ChurnModelError`), so ``except ValueError`` catches it too.
    """


class ResourceLimitError(ChurnModelError):
    """Work that would need more memory than the machine has, refused before it starts.

    The message gives the estimate, what is available and the way out (fewer cutoffs, a
    training sample, a Dask cluster); see :mod:`churnpredict._resources`.
    """


class BundleError(ValueError):
    """A saved model bundle is missing, tampered with or incompatible."""


class DataQualityWarning(UserWarning):
    """Input data had a problem that churnpredict repaired (e.g. events of unknown customers)."""


class LeakageWarning(UserWarning):
    """A feature may carry information from after the cutoff (e.g. a snapshot column)."""


class ModelQualityWarning(UserWarning):
    """A fitted model ranks customers no better than chance (it learned nothing)."""


class SeasonWarning(UserWarning):
    """The scoring horizon falls in a part of the year no training horizon covered."""
