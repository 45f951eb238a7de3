# One command surface for people and CI. Every target sets up .venv first when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: setup report test test-fast lint bench lab docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

## make report: run every report on the packaged data into reports/<timestamp>_base/
report: $(STAMP)
	$(BIN)/alliance-fin run $(ARGS)

## make test: the whole suite, slow end-to-end tests with real kernels and clients included
test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check alliance_fin tests notebooks benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(ARGS)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,) $(ARGS)

docs: $(STAMP)
	$(BIN)/python -m pip install --quiet pdoc
	$(BIN)/pdoc --docformat numpy -o docs/api alliance_fin $$($(BIN)/python -c "import pkgutil, alliance_fin; print(' '.join(m.name for m in pkgutil.iter_modules(alliance_fin.__path__, 'alliance_fin.') if m.name != 'alliance_fin.__main__'))")

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
