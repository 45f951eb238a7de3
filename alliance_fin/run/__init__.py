"""Running: parameter specs, papermill execution, staging, manifest, index page, sweeps."""
