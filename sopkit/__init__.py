"""sopkit: a Sales & Operations Planning workbench."""

from .errors import ConfigError, DataValidationError, SopError, StageError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataValidationError", "SopError", "StageError", "__version__"]
