"""Running: parameter specs, papermill execution, staging, manifest, index page, sweeps."""

import sys

# papermill and nbconvert import nbformat, which imports jsonschema, which imports rfc3987_syntax
# when it is installed (jupyter-events pulls it in). That module builds Earley parsers for IRIs
# at import: about 2.4 s of CPU in every process that imports it, for a format check nbformat
# never uses. Hide it (imports of it raise ImportError, which jsonschema handles) unless it is
# already loaded. Every module of this package runs this first, whichever it is.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
