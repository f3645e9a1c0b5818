# One-command set-up: every target creates the virtual environment first if it is missing or stale.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# 2 shared cores: unbounded BLAS/OpenMP threads oversubscribe them (measured 3-5x slower tests).
THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export PYTHONUNBUFFERED := 1
SNAPSHOT := find nbs psd_clip -type f -not -path "*/__pycache__/*" -not -path "*/.ipynb_checkpoints/*" | sort | xargs md5sum

.PHONY: venv demo test lab

$(VENV)/.stamp: requirements.txt settings.ini setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --user --name psd_clip --display-name "psd_clip (.venv)" >/dev/null
	touch $@

venv: $(VENV)/.stamp

## The main job: train PSD on the embedded default data and evaluate it (papermill, CPU minutes).
demo: venv
	mkdir -p runs
	$(THREADS) $(BIN)/papermill nbs/train.ipynb runs/train_out.ipynb -k psd_clip

## All tests: notebooks in sync and clean, notebook tests (nbdev_test), then pytest.
test: venv
	$(SNAPSHOT) > $(VENV)/before.md5
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
	$(SNAPSHOT) | diff $(VENV)/before.md5 - || (echo "nbdev_export/nbdev_clean changed the files above: commit their result"; exit 1)
	$(THREADS) $(BIN)/nbdev_test --n_workers 2 --timing --flags slow
	$(THREADS) $(BIN)/python -m pytest -q tests

lab: venv
	$(BIN)/jupyter lab --notebook-dir=nbs
