# tnmlib: the study as a pipeline of file targets.
#   make test            set-up (.venv) and the fast test suite (CI runs this)
#   make book            set-up, then simulate -> train -> evaluate -> HTML book (PROFILE=quick)
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
SIM_SRC := $(addprefix tnmlib/,kernels.py simulate.py prony.py program.py statespace.py metrics.py \
	dataset.py profile.py) $(wildcard tnmlib/data/*.csv) tnmlib/profiles/$(PROFILE).yaml
SUBSETS := LU RU LB RB C G
DATA := $(foreach s,$(SUBSETS),data/$(s)-$(PROFILE).h5)
MODEL_SRC := $(addprefix tnmlib/,model.py preprocess.py train.py dataset.py) tnmlib/profiles/$(PROFILE).yaml
MODELS := $(foreach s,$(SUBSETS),models/$(s)-$(PROFILE).keras) models/C-wlnA1-$(PROFILE).keras
PAPERMILL := $(PY) -m papermill --log-output --kernel python3 --cwd .

.DELETE_ON_ERROR:
.PHONY: venv test test-slow bench book data models clean help

help:
	@sed -n '2,8p' Makefile | sed 's/^# //'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,book]"
	touch $@

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

bench: $(STAMP)
	$(PY) -m tnmlib.bench simulate
	$(PY) -m tnmlib.bench dataset

# ---- data: one file per subset (tnm dataset skips work whose fingerprint matches) -------
data/%-$(PROFILE).h5: $(SIM_SRC) $(STAMP)
	$(VENV)/bin/tnm dataset --subset $* --profile $(PROFILE) --out $@
	@touch $@

data: $(DATA)

# ---- models: the paper's seven (tnm train skips a model whose data and settings are unchanged)
models/C-wlnA1-$(PROFILE).keras: data/C-$(PROFILE).h5 $(MODEL_SRC)
	$(VENV)/bin/tnm train --data $< --out $@ --loss-weights 1,1,3,3
	@touch $@

models/%-$(PROFILE).keras: data/%-$(PROFILE).h5 $(MODEL_SRC)
	$(VENV)/bin/tnm train --data $< --out $@
	@touch $@

models: $(MODELS)

# ---- the book -------------------------------------------------------------------------
$(EXEC)/00_simulator.ipynb: notebooks/00_simulator.ipynb $(PKG_SRC) $(STAMP)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE)
	$(PY) -m tnmlib.bookutil hide-parameters $@

$(EXEC)/01_simulate.ipynb: notebooks/01_simulate.ipynb $(DATA) $(PKG_SRC) $(STAMP)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p data_dir data
	$(PY) -m tnmlib.bookutil hide-parameters $@

$(STATIC)/plotly.min.js: $(STAMP)
	@mkdir -p $(STATIC)
	$(PY) -m tnmlib.bookutil copy-plotly $@

$(STATIC)/mathjax/tex-chtml.js: $(STAMP)
	$(PY) -m tnmlib.bookutil copy-mathjax $(STATIC)/mathjax
	@test -f $@ && touch $@

_build/html/index.html: _config.yml _toc.yml $(wildcard book/*.md) $(EXEC)/00_simulator.ipynb $(EXEC)/01_simulate.ipynb \
		$(STATIC)/plotly.min.js $(STATIC)/mathjax/tex-chtml.js
	$(VENV)/bin/jupyter-book build --quiet . 
	@test -f $@

book: _build/html/index.html
	@echo "book: _build/html/index.html"

clean:
	rm -rf _build $(EXEC) $(STATIC)
