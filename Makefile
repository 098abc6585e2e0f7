# Lighter & Faster (更轻·更快): the two commands.
#   make lab    set up .venv if needed, then open the course in JupyterLab
#   make test   set up .venv if needed, then run every test (<= 10 min on 2 cores)
#   make test-fast   unit tests only: no kernels, no browser (<= 90 s; while you edit coursekit)
# Both work on a clean clone with nothing installed by hand. Everything goes into .venv/ in this
# folder; your global Python and Jupyter configuration are never touched.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.install-stamp
TORCH  := torch==2.13.0

# Idle OpenMP threads spin on a busy machine and can make 2-thread timings tens of times slower;
# PASSIVE makes them sleep. Must be set before torch starts, so it is set here for every kernel.
export OMP_WAIT_POLICY := PASSIVE
# Jupyter looks in the course's own environment first (kernel, settings, extensions), never in
# the learner's global configuration.
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter

.PHONY: lab test test-fast install browser clean-venv

install: $(STAMP)

# Re-installs whenever pyproject.toml (the dependency list) changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# the pinned CPU build first: an unpinned torch would pull a multi-GB CUDA build
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m coursekit setup-lab
	@touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(LAB_ARGS)

# Debian's chromium for the real-browser test (root + apt only; otherwise that test says it skipped).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "note: could not install chromium; the browser test will be skipped"; \
	  else echo "note: chromium not found and apt-get not usable here; the browser test will be skipped"; fi; }

test: $(STAMP) browser
	$(PY) -m coursekit pretrain --quiet
	$(PY) -m pytest -n 2 --dist loadfile

# the unit tier only: nothing starts a kernel or a browser
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not notebook and not browser" tests

clean-venv:
	rm -rf $(VENV)
