# One-command set-up: every target creates the virtual environment first if it is missing or stale.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# 2 shared cores: unbounded BLAS/OpenMP threads oversubscribe them (measured 3-5x slower tests).
THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export PYTHONUNBUFFERED := 1
# what git sees of the working tree (its status and every change's content): make test must leave it as it found it
TREE := { git status --porcelain --untracked-files=all; git diff HEAD --binary | md5sum; } 2>/dev/null
SNAPSHOT := find nbs psd_clip -type f -not -path "*/__pycache__/*" -not -path "*/.ipynb_checkpoints/*" | sort | xargs md5sum

NOISE_TYPES := random_mismatch, hard_mismatch, partial, boilerplate, wrong_attribute, generic
MAIN_COMPARISON := zero_shot linear_probe retrieval robustness
TEN_SEEDS := {seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], regimes: [memorize], methods: [clip, psd, psd_ema, label_smoothing, psd_whole_batch], \
  out: ../../data/results/ten_seeds, figures: ../../figures/ten_seeds}

.PHONY: venv demo test lint lab world-check readme paper reproduce trend-family gpu-wheels gpu-rehearsal

$(VENV)/.stamp: requirements.txt settings.ini setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name psd_clip --display-name psd_clip >/dev/null  # nbdev_clean writes this display name
	touch $@

venv: $(VENV)/.stamp

## The main job: train PSD on the embedded default data and evaluate it (papermill, CPU minutes).
demo: venv
	mkdir -p runs
	OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $(BIN)/papermill nbs/train.ipynb runs/train_out.ipynb -k psd_clip

## Lint: ruff over the notebooks, the package and the scripts (rules and the house style's exceptions in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check tests benchmarks tools

## The paper's tables and figures at the embedded world's size: every notebook of nbs/paper through papermill (runs cached),
## then the noise sweep once more for each noise type alone, at every level (CLIP and PSD's default, memorization
## regime, 3 seeds), and the main comparison's notebooks for CLIP, PSD (default, EMA teacher, whole batch) and label
## smoothing in the memorization regime at ten seeds; then the claims' verdict table (data/results/verdicts.md), the studies
## of the world (nbs/studies/), and README.md's results. `PSD_CLIP_REUSE_RECORDED=1 make paper` takes the metrics the
## committed tables recorded for runs missing from the cache, and trains only what no table has.
paper: venv
	mkdir -p runs/paper
	for nb in nbs/paper/*.ipynb; do echo "== $$nb"; $(BIN)/papermill --progress-bar --log-output $$nb runs/paper/$$(basename $$nb) -k psd_clip || exit 1; done
	echo "== nbs/paper/noise_levels.ipynb, each noise type alone at each level"
	$(BIN)/papermill --progress-bar --log-output nbs/paper/noise_levels.ipynb runs/paper/noise_types.ipynb -k psd_clip \
	  -y '{noise_types: [$(NOISE_TYPES)], levels: [0.0, 0.2, 0.4, 0.6], budget: 1.0, methods: [clip, psd], out: ../../data/results/noise_types}'
	for nb in $(MAIN_COMPARISON); do echo "== nbs/paper/$$nb.ipynb, the memorization regime at ten seeds"; \
	  $(BIN)/papermill --progress-bar --log-output nbs/paper/$$nb.ipynb runs/paper/ten_seeds_$$nb.ipynb -k psd_clip -y '$(TEN_SEEDS)' || exit 1; done
	echo "== the verdict table, the studies, and README.md's results"
	$(BIN)/python -m psd_clip.verdicts
	for nb in nbs/studies/*.ipynb; do $(BIN)/papermill --progress-bar nbs/studies/$$(basename $$nb) runs/paper/study_$$(basename $$nb) -k psd_clip || exit 1; done
	$(BIN)/python tools/readme.py

## The headline from scratch: CLIP, PSD and label smoothing, 3 seeds, both regimes (18 runs) trained with no cached run into
## runs/reproduce/<time>/, their zero-shot and retrieval tables and figure, and a table beside the committed results.
reproduce: venv
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python tools/reproduce.py

## Rebuild the robustness trend family the kit ships (data/eval_trend_fashion_mnist_32.json): only when the suite changes.
trend-family: venv
	$(BIN)/python -c "from psd_clip.mini import *; trend_family_accuracies(32, trend_cache_files(32)[0], rebuild=True)"

## The wheels a GPU machine lacks (its image has torch, not these), for Python 3.12 on x86-64, into .whl/ (ignored): carry it.
GPU_WHEELS := open_clip_torch ftfy wcwidth fastcore webdataset braceexpand
gpu-wheels: venv
	mkdir -p .whl
	for name in $(GPU_WHEELS); do pin=$$(grep -i "^$$name==" requirements.txt) || exit 1; \
	  $(BIN)/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any -d .whl "$$pin" || exit 1; done
	ls .whl

## The GPU check's rehearsal on this CPU, importing as the device would (the carried packages from .whl/ only).
gpu-rehearsal: gpu-wheels
	DEVICE_LIKE_SITE=$$(mktemp -d) PYTHONPATH=$(CURDIR)/benchmarks/device_like $(BIN)/python -c "import open_clip" 2>/dev/null \
	  && { echo "gpu-rehearsal: open_clip imports from the venv although hidden: the device emulation hides nothing"; exit 1; } || true
	site=$$(mktemp -d) && OUT=$$site/out RUNS=$$site/runs DEVICE_LIKE_SITE=$$site/carried PYTHON=$(BIN)/python \
	  PYTHONPATH=$(CURDIR)/benchmarks/device_like $(THREADS) benchmarks/gpu_check.sh --dry-run && rm -rf $$site

## README.md's generated sections: the method from nbs/index.ipynb, the results from data/results/verdicts.json.
readme: venv
	$(BIN)/python tools/readme.py

## The miniature world's check: CLIP clean vs noisy in both regimes, 3 seeds (cached runs), -> data/results/world_check.json
world-check: venv
	$(BIN)/python -m psd_clip.world_check

## All tests: lint, notebooks in sync and clean, notebook tests (nbdev_test), pytest, the GPU check's CPU rehearsal; the tree unchanged.
test: venv lint
	$(TREE) > $(VENV)/tree.before
	$(SNAPSHOT) > $(VENV)/before.md5
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
	$(SNAPSHOT) | diff $(VENV)/before.md5 - || (echo "nbdev_export/nbdev_clean changed the files above: commit their result"; exit 1)
	$(BIN)/python tools/readme.py --check
	$(THREADS) $(BIN)/nbdev_test --n_workers 2 --timing --flags slow
	$(THREADS) $(BIN)/python -m pytest -q tests
	$(MAKE) --no-print-directory gpu-rehearsal
	$(TREE) | diff $(VENV)/tree.before - >/dev/null || (git status --porcelain; echo "make test changed the files above: a test or a run wrote into the repository"; exit 1)

## JupyterLab on nbs/: saving cleans a notebook as nbdev_clean does; runs as root too (tools/jupyter_server_config.py).
lab: venv
	$(BIN)/jupyter lab --notebook-dir=nbs --config=tools/jupyter_server_config.py
