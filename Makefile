# tnmlib: the study as a pipeline of file targets.  `make help` lists the targets.
# Everything made here lands in ignored folders, per profile: .venv, data, models, reports/<profile>,
# book/executed/<profile>, _build/<profile>.

PYTHON ?= python3
# Independent steps (subset files, models, evaluations, pages) run side by side, one per core, and
# print their progress as it comes (interleaved).  `make -j1 ...` runs one step at a time.
MAKEFLAGS += --jobs=$(shell nproc 2>/dev/null || echo 2)
PROFILE ?= quick
VENV := .venv
PY := $(VENV)/bin/python
TNM := $(VENV)/bin/tnm
STAMP := $(VENV)/.installed
BOOK := $(PY) tools/book.py
STUDY := tnmlib/study/study.yaml
PROFILE_FILE := tnmlib/study/profiles/$(PROFILE).yaml
EXEC := book/executed/$(PROFILE)
BUILD := _build/$(PROFILE)
REPORTS := reports/$(PROFILE)
STATIC := book/_static

# The sources behind each artifact, from the package's own lists (tnmlib/fingerprint.py runs on
# the plain system Python, before the environment exists).
DATA_SRC := $(shell $(PYTHON) tnmlib/fingerprint.py files data)
MODEL_SRC := $(shell $(PYTHON) tnmlib/fingerprint.py files model)
EVAL_SRC := $(shell $(PYTHON) tnmlib/fingerprint.py files evaluation)
COMPARE_SRC := $(shell $(PYTHON) tnmlib/fingerprint.py files comparison)
WHOLESPACE_SRC := $(shell $(PYTHON) tnmlib/fingerprint.py files wholespace)
INDEPENDENT_SRC := $(shell $(PYTHON) tnmlib/fingerprint.py files independent)
PKG_SRC := $(shell find tnmlib -name '*.py' -o -name '*.yaml' -o -name '*.csv' 2>/dev/null)

# The study's models as NAME:SUBSET (MODEL_SUBSET) and the literature-like glasses (GLASSES), from
# the package itself (python -m tnmlib.study make-variables) into a file make includes; make builds
# it, after the environment, before anything else (and restarts).  `make help` and `make clean`
# need neither.
STUDY_MK := $(VENV)/study.mk
ifneq ($(filter-out help clean,$(MAKECMDGOALS)),)
include $(STUDY_MK)
endif
MODEL_NAMES := $(foreach m,$(MODEL_SUBSET),$(firstword $(subst :, ,$(m))))
SUBSETS := $(sort $(foreach m,$(MODEL_SUBSET),$(lastword $(subst :, ,$(m)))))
subset_of = $(lastword $(subst :, ,$(filter $(1):%,$(MODEL_SUBSET))))

DATA := $(foreach s,$(SUBSETS),data/$(s)-$(PROFILE).h5)
MODELS := $(foreach m,$(MODEL_NAMES),models/$(m)-$(PROFILE).keras)
EVALS := $(foreach m,$(MODEL_NAMES),$(REPORTS)/eval-$(m).nc)
SUMMARY := $(REPORTS)/summary.json
COMPARISON := $(REPORTS)/comparison.nc
# Beyond the paper, part 2: the whole-space estimator (its network ships with the package), its
# assessment, and tnm fit on example measurements of the literature-like glasses of study.yaml.
ESTIMATOR := tnmlib/data/estimator.npz
WHOLESPACE := $(REPORTS)/wholespace.nc
INDEPENDENT := $(REPORTS)/independent.nc
FITS_DIR := $(REPORTS)/fits
FIT_KINDS := clean noisy-lag raw
FITS := $(foreach g,$(GLASSES),$(foreach k,$(FIT_KINDS),$(FITS_DIR)/$(g)-$(k).json))
FIT_CSVS := $(FITS:.json=.csv)
# The networks of the comparison of estimators: the study's models trained on G.
G_MODELS := $(foreach m,$(MODEL_SUBSET),$(if $(filter %:G,$(m)),$(firstword $(subst :, ,$(m)))))
PAGES := $(addprefix $(EXEC)/,00_simulator.ipynb 01_simulate.ipynb \
	$(foreach m,$(MODEL_NAMES),02_train_$(m).ipynb) 03_evaluate.ipynb 04_surfaces.ipynb 05_reproduce.ipynb \
	06_discussion.ipynb 07_beyond_part1.ipynb 08_beyond_part2.ipynb 09_real_measurement.ipynb)
TIMED = $(BOOK) timed --log $(REPORTS)/timings.csv --label
# Every page's execution is timed too (label page:<notebook>): timings.csv says where a build's time goes.
PAPERMILL = $(TIMED) page:$(notdir $(basename $@)) -- $(PY) -m papermill --log-output --kernel python3 --cwd .

# Compiled XLA programs are kept between processes (JAX's persistent cache): the study's models of
# one input shape and loss compile once per machine instead of once per model, and so do the tests'.
export JAX_COMPILATION_CACHE_DIR ?= $(abspath $(VENV))/jax-cache

.DELETE_ON_ERROR:
# The example files are made by a chain of pattern rules; keep them (the part 2 page reads them).
.SECONDARY: $(FIT_CSVS)
.SECONDEXPANSION:
.PHONY: help venv test test-slow check-book lab bench book data models evaluations comparison summary clean print-% \
	estimator wholespace independent fits real export-check

help:  ## this list
	@echo "make TARGET [PROFILE=quick|smoke|paper]  (default PROFILE=$(PROFILE))"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z%-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,book]"
	touch $@

$(STUDY_MK): $(STAMP) $(STUDY) tnmlib/study/__main__.py tnmlib/study/design.py
	$(PY) -m tnmlib.study make-variables > $@.part && mv $@.part $@

venv: $(STAMP)  ## create .venv and install the package with its test and book extras

test: $(STAMP)  ## the fast test suite (spread over the cores), then the whole pipeline on the smoke profile (what CI runs)
	$(PY) -m pytest -m "not slow" -n auto
	$(MAKE) book PROFILE=smoke
	$(BOOK) check-html --profile smoke
	$(BOOK) archive --profile smoke --out _build/smoke/tnm-book-smoke.zip
	$(BOOK) check-archive _build/smoke/tnm-book-smoke.zip

test-slow: $(STAMP)  ## the heavier checks (marked slow)
	$(PY) -m pytest -m slow -n auto

bench: $(STAMP)  ## benchmarks: simulator, datasets, model, fits (printed figures)
	$(PY) -m tnmlib.bench simulate
	$(PY) -m tnmlib.bench dataset
	$(PY) -m tnmlib.bench model
	$(PY) -m tnmlib.bench baselines
	$(PY) -m tnmlib.bench fit

# ---- data: one file per subset (tnm dataset skips work whose fingerprint matches) -------
data/%-$(PROFILE).h5: $(DATA_SRC) $(PROFILE_FILE) | $(STAMP)
	$(TIMED) data:$* -- $(TNM) dataset --subset $* --profile $(PROFILE) --out $@
	@touch $@

data: $(DATA)  ## only the subset files of PROFILE

# ---- models: the study's models (tnm train skips a model whose data and settings are unchanged)
models/%-$(PROFILE).keras: data/$$(call subset_of,$$*)-$(PROFILE).h5 $(MODEL_SRC) $(STUDY) | $(STAMP)
	$(TIMED) model:$* -- $(TNM) train --model $* --data $< --out $@
	@touch $@

models: $(MODELS)  ## only the models of PROFILE

# ---- evaluations: each model on the test split of its subset -------------------------------
$(REPORTS)/eval-%.nc: models/%-$(PROFILE).keras data/$$(call subset_of,$$*)-$(PROFILE).h5 $(EVAL_SRC) | $(STAMP)
	$(TIMED) evaluate:$* -- $(TNM) evaluate --model $< --data $(word 2,$^) --out $@
	@touch $@

evaluations: $(EVALS)  ## only the evaluation files of PROFILE

# ---- beyond the paper, part 1: every estimator on G's test split, clean and distorted -------
$(COMPARISON): data/G-$(PROFILE).h5 $(foreach m,$(G_MODELS),models/$(m)-$(PROFILE).keras) $(COMPARE_SRC) | $(STAMP)
	$(TIMED) comparison -- $(TNM) compare --data $< $(foreach m,$(G_MODELS),--model $(m)=models/$(m)-$(PROFILE).keras) --out $@
	@touch $@

comparison: $(COMPARISON)  ## reports/PROFILE/comparison.nc: networks, Moynihan, look-up, least squares

# ---- beyond the paper, part 2: the whole-space estimator and tnm fit ---------------------------
# The network is a committed file (tnmlib/data/estimator.npz, with its provenance inside): make
# never rebuilds it on its own; `make estimator` does, in about 8 minutes on 2 cores.
estimator: | $(STAMP)  ## retrain the whole-space network that ships with tnmlib (tnmlib/data/estimator.npz)
	$(TIMED) estimator -- $(TNM) estimator --out $(ESTIMATOR)

$(WHOLESPACE): $(ESTIMATOR) models/G-$(PROFILE).keras $(WHOLESPACE_SRC) $(PROFILE_FILE) | $(STAMP)
	$(TIMED) wholespace -- $(TNM) assess --profile $(PROFILE) --g-model models/G-$(PROFILE).keras --out $@
	@touch $@

wholespace: $(WHOLESPACE)  ## reports/PROFILE/wholespace.nc: the new estimator, the paper's MCNN and least squares

$(INDEPENDENT): $(ESTIMATOR) $(INDEPENDENT_SRC) $(PROFILE_FILE) | $(STAMP)
	$(TIMED) independent -- $(TNM) assess-independent --profile $(PROFILE) --out $@
	@touch $@

independent: $(INDEPENDENT)  ## reports/PROFILE/independent.nc: the new estimator on copies made by the independent reference

define example_rule
$(FITS_DIR)/%-$(1).csv: $(PKG_SRC) | $(STAMP)
	@mkdir -p $(FITS_DIR)
	$(TNM) example --glass $$* --kind $(1) --out $$@
endef
$(foreach k,$(FIT_KINDS),$(eval $(call example_rule,$(k))))

$(FITS_DIR)/%-clean.json: $(FITS_DIR)/%-clean.csv $(ESTIMATOR) $(PKG_SRC)
	$(TIMED) fit:$*-clean -- $(TNM) fit $< --out $@ --plot $(basename $@).html

$(FITS_DIR)/%-noisy-lag.json: $(FITS_DIR)/%-noisy-lag.csv $(ESTIMATOR) $(PKG_SRC)
	$(TIMED) fit:$*-noisy-lag -- $(TNM) fit $< --fit-lag --out $@ --plot $(basename $@).html

$(FITS_DIR)/%-raw.json: $(FITS_DIR)/%-raw.csv $(ESTIMATOR) $(PKG_SRC)
	$(TIMED) fit:$*-raw -- $(TNM) fit $< --normalize --out $@ --plot $(basename $@).html

fits: $(FITS)  ## tnm fit on example measurements (clean, noisy and lagged, raw Cp) of the literature-like glasses

# ---- beyond the paper, part 3: a real measurement -------------------------------------------
# The shared TRIOS exports of o-terphenyl when they lie next to the repository (never copied into
# it); otherwise synthetic runs with the same procedure and quirks (tnm example --format trios,
# made by the independent reference).  The chapter says which it shows.
TRIOS_DIR := ../shared/data/trios
REAL_DIR := $(REPORTS)/real
ifneq ($(wildcard $(TRIOS_DIR)/otp_2023_07_18.txt),)
REAL_SOURCE := shared
REAL_MAIN := $(TRIOS_DIR)/otp_2023_07_18.txt
REAL_SECOND := $(TRIOS_DIR)/otp_2023_08_04.txt
else
REAL_SOURCE := synthetic
REAL_MAIN := $(REAL_DIR)/synthetic-otp-1.txt
REAL_SECOND := $(REAL_DIR)/synthetic-otp-2.txt
endif
REAL_FITS := $(REAL_DIR)/main.json $(REAL_DIR)/main-provisional.json $(REAL_DIR)/second.json
EXPORT_CHECK := $(REPORTS)/export_check.nc

$(REAL_DIR)/synthetic-otp-%.txt: $(PKG_SRC) | $(STAMP)
	@mkdir -p $(REAL_DIR)
	$(TNM) example --format trios --seed $* --out $@

$(REAL_DIR)/main.json: $(REAL_MAIN) $(PKG_SRC) | $(STAMP)
	@mkdir -p $(REAL_DIR)
	$(TIMED) real:main -- $(TNM) fit $< --hold-out --out $@

$(REAL_DIR)/main-provisional.json: $(REAL_MAIN) $(PKG_SRC) | $(STAMP)
	@mkdir -p $(REAL_DIR)
	$(TIMED) real:main-provisional -- $(TNM) fit $< --no-refine-lines --out $@

$(REAL_DIR)/second.json: $(REAL_SECOND) $(PKG_SRC) | $(STAMP)
	@mkdir -p $(REAL_DIR)
	$(TIMED) real:second -- $(TNM) fit $< --hold-out --out $@

real: $(REAL_FITS)  ## tnm fit --hold-out on the o-terphenyl exports (or their synthetic stand-ins)

$(EXPORT_CHECK): $(PKG_SRC) $(PROFILE_FILE) | $(STAMP)
	$(TIMED) export-check -- $(TNM) check-exports --profile $(PROFILE) --out $@

export-check: $(EXPORT_CHECK)  ## tnm fit on synthetic exports made by the independent reference (runs per kind: the profile's)

$(SUMMARY): $(EVALS) $(COMPARISON) $(EVAL_SRC) | $(STAMP)
	$(TIMED) summary -- $(TNM) summary --eval-dir $(REPORTS) --comparison $(COMPARISON) --out $@

summary: $(SUMMARY)  ## reports/PROFILE/summary.json: MAE (model and constant), shares, left-out, resolved, comparison

# ---- the book: notebooks read finished artifacts; each profile has its own pages and HTML ---
$(EXEC)/00_simulator.ipynb: notebooks/00_simulator.ipynb $(PKG_SRC) | $(STAMP)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p scans_out data/simulator/se_scans-$(PROFILE).nc
	$(BOOK) finish $@ --profile $(PROFILE)

$(EXEC)/01_simulate.ipynb: notebooks/01_simulate.ipynb $(DATA) $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p data_dir data
	$(BOOK) finish $@ --profile $(PROFILE)

$(EXEC)/02_train_%.ipynb: notebooks/02_train.ipynb models/%-$(PROFILE).keras $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p model_name $* -p profile $(PROFILE) -p model_path models/$*-$(PROFILE).keras
	$(BOOK) finish $@ --profile $(PROFILE) --model $*

$(EXEC)/03_evaluate.ipynb: notebooks/03_evaluate.ipynb $(EVALS) $(SUMMARY) $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p eval_dir $(REPORTS) -p summary_path $(SUMMARY)
	$(BOOK) finish $@ --profile $(PROFILE)

$(EXEC)/04_surfaces.ipynb: notebooks/04_surfaces.ipynb $(REPORTS)/eval-G.nc $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p eval_path $(REPORTS)/eval-G.nc
	$(BOOK) finish $@ --profile $(PROFILE)

$(EXEC)/05_reproduce.ipynb: notebooks/05_reproduce.ipynb $(DATA) $(MODELS) $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p data_dir data -p model_dir models \
		-p timings_path $(REPORTS)/timings.csv
	$(BOOK) finish $@ --profile $(PROFILE)

$(EXEC)/06_discussion.ipynb: notebooks/06_discussion.ipynb $(SUMMARY) $(MODELS) $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p summary_path $(SUMMARY) -p model_dir models
	$(BOOK) finish $@ --profile $(PROFILE)

$(EXEC)/07_beyond_part1.ipynb: notebooks/07_beyond_part1.ipynb $(COMPARISON) $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p comparison_path $(COMPARISON)
	$(BOOK) finish $@ --profile $(PROFILE)

$(EXEC)/08_beyond_part2.ipynb: notebooks/08_beyond_part2.ipynb $(WHOLESPACE) $(INDEPENDENT) $(FITS) $(FIT_CSVS) $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p wholespace_path $(WHOLESPACE) -p independent_path $(INDEPENDENT) \
		-p fits_dir $(FITS_DIR) -p timings_path $(REPORTS)/timings.csv
	$(BOOK) finish $@ --profile $(PROFILE)

$(EXEC)/09_real_measurement.ipynb: notebooks/09_real_measurement.ipynb $(REAL_FITS) $(REAL_MAIN) $(REAL_SECOND) \
		$(EXPORT_CHECK) $(PKG_SRC)
	@mkdir -p $(EXEC)
	$(PAPERMILL) $< $@ -p profile $(PROFILE) -p source $(REAL_SOURCE) -p main_export $(REAL_MAIN) \
		-p second_export $(REAL_SECOND) -p main_fit $(REAL_DIR)/main.json \
		-p main_fit_provisional $(REAL_DIR)/main-provisional.json -p second_fit $(REAL_DIR)/second.json \
		-p export_check_path $(EXPORT_CHECK)
	$(BOOK) finish $@ --profile $(PROFILE)

$(STATIC)/plotly.min.js: | $(STAMP)
	@mkdir -p $(STATIC)
	$(BOOK) copy-plotly $@

$(STATIC)/mathjax/tex-chtml.js: | $(STAMP)
	$(BOOK) copy-mathjax $(STATIC)/mathjax
	@test -f $@ && touch $@

$(BUILD)/_toc.yml: _toc.yml $(STUDY) | $(STAMP)
	$(BOOK) toc --profile $(PROFILE) --out $@

$(BUILD)/html/index.html: _config.yml $(BUILD)/_toc.yml $(wildcard book/*.md) $(PAGES) \
		$(STATIC)/plotly.min.js $(STATIC)/mathjax/tex-chtml.js
	$(TIMED) html -- $(BOOK) build --profile $(PROFILE)
	@test -f $@ && touch $@

book: $(BUILD)/html/index.html  ## set-up, simulate, train, evaluate, then the HTML book in _build/PROFILE/html

check-book:  ## the smoke book in headless Chromium: figures render, nothing leaves the machine
	$(MAKE) book PROFILE=smoke
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(PY) tools/bookcheck.py _build/smoke/html --screenshots _build/smoke/screenshots

# The kernel is the project's .venv, named after the project; the settings override turns off
# JupyterLab's news prompt and update check (nothing asks the network).
$(VENV)/.lab: $(STAMP) tools/lab/overrides.json
	$(PY) -m pip install --quiet -e ".[lab]"
	$(PY) -m ipykernel install --sys-prefix --name tnmlib --display-name "tnmlib"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp tools/lab/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

# Lab starts in notebooks/ (the playground is notebooks/playground.ipynb); the notebooks find the
# repository root themselves.  Containers often run as root, which Jupyter refuses without --allow-root.
lab: $(VENV)/.lab  ## JupyterLab on the notebooks and the playground, with the project's kernel
	$(VENV)/bin/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

check-lab: $(VENV)/.lab  ## the playground in JupyterLab in headless Chromium: a slider moves the curves, nothing leaves the machine
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(PY) -m pytest -m slow tests/test_playground_browser.py -p no:xdist

$(VENV)/.publish: $(STAMP)
	$(PY) -m pip install --quiet -e ".[publish]"
	touch $@

# The book where a reader gets it: the gh-pages branch Jupyter Books use (ghp-import; PUSH=1 also
# pushes it to origin), and a zip whose pages open from disk, checked link by link.
publish: book $(VENV)/.publish  ## the PROFILE book on the gh-pages branch and as a self-contained zip in _build/PROFILE
	$(BOOK) archive --profile $(PROFILE) --out $(BUILD)/tnm-book-$(PROFILE).zip
	$(BOOK) check-archive $(BUILD)/tnm-book-$(PROFILE).zip
	$(VENV)/bin/ghp-import --no-jekyll --branch gh-pages $(if $(PUSH),--push) \
		--message "book ($(PROFILE)) from $$(git rev-parse --short HEAD)" $(BUILD)/html
	@echo "publish: branch gh-pages holds $(BUILD)/html; archive $(BUILD)/tnm-book-$(PROFILE).zip"

clean:  ## remove the executed pages and HTML of PROFILE (data, models and reports stay)
	rm -rf $(BUILD) $(EXEC)

print-%:  ## print a variable of this Makefile, e.g. make print-MODEL_NAMES
	@echo $($*)
