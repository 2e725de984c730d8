# tnmlib: the study as a pipeline of file targets.
#   make test            set-up (.venv) and the fast test suite (CI runs this)
#   make book            set-up, then simulate -> train -> evaluate -> HTML book (PROFILE=quick)
#   make check-book      the smoke book in headless Chromium: figures render, nothing leaves the machine
#   make lab             JupyterLab on the notebooks with the project's environment
#   make test-slow       the heavier checks (marked slow)
#   make bench           benchmarks (printed figures)
#   make data / models   only the subset files / the seven models of a PROFILE
# Everything made here lands in ignored folders: .venv, data, models, book/executed, _build.

PYTHON ?= python3
PROFILE ?= quick
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXEC := book/executed
STATIC := book/_static
PKG_SRC := $(shell find tnmlib -name '*.py' -o -name '*.yaml' -o -name '*.csv' 2>/dev/null)
SIM_SRC := $(addprefix tnmlib/,kernels.py simulate.py prony.py program.py statespace.py descriptors.py \
	dataset.py profile.py) $(wildcard tnmlib/data/*.csv) tnmlib/profiles/$(PROFILE).yaml
SUBSETS := LU RU LB RB C G
DATA := $(foreach s,$(SUBSETS),data/$(s)-$(PROFILE).h5)
MODEL_SRC := $(addprefix tnmlib/,model.py preprocess.py train.py dataset.py) tnmlib/profiles/$(PROFILE).yaml
MODEL_NAMES := $(SUBSETS) C-wlnA1
MODELS := $(foreach m,$(MODEL_NAMES),models/$(m)-$(PROFILE).keras)
PAGES := $(addprefix $(EXEC)/,00_simulator.ipynb 01_simulate.ipynb \
	$(foreach m,$(MODEL_NAMES),02_train_$(m).ipynb) 03_evaluate.ipynb 04_surfaces.ipynb 05_reproduce.ipynb)
PAPERMILL := $(PY) -m papermill --log-output --kernel python3 --cwd .
TIMED = $(PY) -m tnmlib.bookutil timed --log reports/timings-$(PROFILE).csv --label

PROFILE_STAMP := $(EXEC)/.profile

.DELETE_ON_ERROR:
.PHONY: venv test test-slow smoke-book check-book lab bench book data models clean help FORCE

help:
	@sed -n '2,10p' Makefile | sed 's/^# //'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,book]"
	touch $@

venv: $(STAMP)

# the unit tests, then the whole pipeline end to end on the smoke profile
test: $(STAMP)
	$(PY) -m pytest -m "not slow"
	$(MAKE) smoke-book

smoke-book: $(STAMP)
	$(MAKE) book PROFILE=smoke
	$(PY) -m tnmlib.bookutil check-html _build/html

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

bench: $(STAMP)
	$(PY) -m tnmlib.bench simulate
	$(PY) -m tnmlib.bench dataset
	$(PY) -m tnmlib.bench model

# ---- data: one file per subset (tnm dataset skips work whose fingerprint matches) -------
data/%-$(PROFILE).h5: $(SIM_SRC) $(STAMP)
	$(TIMED) data:$* -- $(VENV)/bin/tnm dataset --subset $* --profile $(PROFILE) --out $@
	@touch $@

data: $(DATA)

# ---- models: the paper's seven (tnm train skips a model whose data and settings are unchanged)
models/C-wlnA1-$(PROFILE).keras: data/C-$(PROFILE).h5 $(MODEL_SRC)
	$(TIMED) model:C-wlnA1 -- $(VENV)/bin/tnm train --data $< --out $@ --loss-weights 1,1,3,3
	@touch $@

models/%-$(PROFILE).keras: data/%-$(PROFILE).h5 $(MODEL_SRC)
	$(TIMED) model:$* -- $(VENV)/bin/tnm train --data $< --out $@
	@touch $@

models: $(MODELS)

# ---- the book -------------------------------------------------------------------------
# the executed pages are rebuilt when the profile changes (the stamp changes only then)
$(PROFILE_STAMP): FORCE
	@mkdir -p $(EXEC)
	@echo $(PROFILE) | cmp -s - $@ || echo $(PROFILE) > $@

$(EXEC)/00_simulator.ipynb: notebooks/00_simulator.ipynb $(PROFILE_STAMP) $(PKG_SRC) $(STAMP)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE)
	$(PY) -m tnmlib.bookutil finish $@ --profile $(PROFILE)

$(EXEC)/01_simulate.ipynb: notebooks/01_simulate.ipynb $(PROFILE_STAMP) $(DATA) $(PKG_SRC) $(STAMP)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p data_dir data
	$(PY) -m tnmlib.bookutil finish $@ --profile $(PROFILE)

$(EXEC)/02_train_C-wlnA1.ipynb: notebooks/02_train.ipynb $(PROFILE_STAMP) models/C-wlnA1-$(PROFILE).keras $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p subset C -p profile $(PROFILE) -y "loss_weights: [1.0, 1.0, 3.0, 3.0]" \
		-p data_path data/C-$(PROFILE).h5 -p model_path models/C-wlnA1-$(PROFILE).keras
	$(PY) -m tnmlib.bookutil finish $@ --profile $(PROFILE) --title "Training: C with w(ln A) = 1"

$(EXEC)/02_train_%.ipynb: notebooks/02_train.ipynb $(PROFILE_STAMP) models/%-$(PROFILE).keras $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p subset $* -p profile $(PROFILE) \
		-p data_path data/$*-$(PROFILE).h5 -p model_path models/$*-$(PROFILE).keras
	$(PY) -m tnmlib.bookutil finish $@ --profile $(PROFILE) --title "Training: $*"

$(EXEC)/03_evaluate.ipynb: notebooks/03_evaluate.ipynb $(PROFILE_STAMP) $(MODELS) $(PKG_SRC)
	@mkdir -p $(EXEC) reports
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p data_dir data -p model_dir models -p results_dir reports
	$(PY) -m tnmlib.bookutil finish $@ --profile $(PROFILE)

$(EXEC)/04_surfaces.ipynb: notebooks/04_surfaces.ipynb $(PROFILE_STAMP) models/G-$(PROFILE).keras $(EXEC)/03_evaluate.ipynb $(PKG_SRC)
	@mkdir -p $(EXEC) reports
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p data_path data/G-$(PROFILE).h5 \
		-p model_path models/G-$(PROFILE).keras -p results_path reports/eval-G-$(PROFILE).nc
	$(PY) -m tnmlib.bookutil finish $@ --profile $(PROFILE)

$(EXEC)/05_reproduce.ipynb: notebooks/05_reproduce.ipynb $(PROFILE_STAMP) $(EXEC)/04_surfaces.ipynb $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p data_dir data -p model_dir models -p results_dir reports
	$(PY) -m tnmlib.bookutil finish $@ --profile $(PROFILE)

$(STATIC)/plotly.min.js: $(STAMP)
	@mkdir -p $(STATIC)
	$(PY) -m tnmlib.bookutil copy-plotly $@

$(STATIC)/mathjax/tex-chtml.js: $(STAMP)
	$(PY) -m tnmlib.bookutil copy-mathjax $(STATIC)/mathjax
	@test -f $@ && touch $@

_build/html/index.html: _config.yml _toc.yml $(wildcard book/*.md) $(PAGES) \
		$(STATIC)/plotly.min.js $(STATIC)/mathjax/tex-chtml.js
	$(VENV)/bin/jupyter-book build --quiet . 
	@test -f $@ && touch $@

book: _build/html/index.html

# open the smoke book in headless Chromium (installed from Debian when missing): every figure
# must render and no request may leave the machine; screenshots go to _build/screenshots
check-book: smoke-book
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(PY) -m tnmlib.bookcheck _build/html --screenshots _build/screenshots

# JupyterLab with the project's environment as kernel
lab: $(STAMP)
	$(PY) -m pip install --quiet -e ".[lab]"
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf _build $(EXEC) $(STATIC)
