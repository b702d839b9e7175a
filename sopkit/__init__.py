"""sopkit: a Sales & Operations Planning workbench."""

import sys

from .errors import ConfigError, DataValidationError, SopError, StageError

__version__ = "0.1.0"


def _fast_iri_syntax() -> None:
    """Let jsonschema use ``rfc3987_syntax2`` for its IRI format checks.

    jsonschema (imported by altair and nbformat, so by every sopkit process and kernel)
    imports ``rfc3987_syntax``, which builds a lark grammar at import: about 2 s per
    process on this project's machines (jsonschema issue 1392). ``rfc3987_syntax2`` is
    its maintained fork with the same API, built lazily (about 0.05 s). Only done while
    jsonschema has not loaded the old one yet.
    """
    if "rfc3987_syntax" in sys.modules or "jsonschema" in sys.modules:
        return
    try:
        import rfc3987_syntax2
    except ImportError:  # not installed: jsonschema takes the slow one, as before
        return
    sys.modules["rfc3987_syntax"] = rfc3987_syntax2


_fast_iri_syntax()

__all__ = ["ConfigError", "DataValidationError", "SopError", "StageError", "__version__"]
