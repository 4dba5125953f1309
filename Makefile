# The two commands of the README: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_STUDY := $(CURDIR)/study
STUDY  ?= $(DEMO_STUDY)
STAMP  := $(VENV)/.installed
# JupyterLab refuses to run as root unless told; containers and CI often are root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test install demo lint bench clean notebooks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Only the default study folder is filled with the fictional demo; a STUDY of your own is
# never (notebook 00 sets up a new one there).
$(DEMO_STUDY)/study.db: | $(STAMP)
	$(BIN)/coprod-nb demo -q $(DEMO_STUDY)

demo: $(DEMO_STUDY)/study.db

# On the demo you work as one of its fictional researchers (cedar), so that every step is
# open to you; on your own study (make lab STUDY=DIR) as yourself: COPROD_USER, else your
# login (the notebooks map it to a researcher of the study by login).
IS_DEMO  := $(filter $(DEMO_STUDY),$(abspath $(STUDY)))
LAB_USER := $(if $(IS_DEMO),$(or $(COPROD_USER),cedar),$(COPROD_USER))

## Open the notebooks on the demo study in JupyterLab. Lab's root is this folder, so its
## file browser shows notebooks/ (where it opens) and the study folder (./study: exports,
## uploads); a STUDY outside this folder is used but not shown in the browser.
lab: $(STAMP) $(if $(IS_DEMO),$(DEMO_STUDY)/study.db)
	COPROD_STUDY=$(abspath $(STUDY)) COPROD_USER=$(LAB_USER) $(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) \
	  --LabApp.default_url=/lab/tree/notebooks $(LAB_ROOT)

## Install what the tests need (system packages too, as root) and run every test.
test: $(STAMP)
	./scripts/install-system-deps.sh
	$(BIN)/ruff check coprod_nb tests
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check coprod_nb tests
	$(BIN)/ruff format --check coprod_nb tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info

## Re-execute the notebooks on a fresh demo study and store their outputs (for strict nbval).
notebooks: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py
