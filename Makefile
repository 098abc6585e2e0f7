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

# Idle OpenMP threads spin on a busy machine and can make 2-thread timings tens of times slower;
# PASSIVE makes them sleep. Must be set before torch starts, so it is set here for every kernel.
export OMP_WAIT_POLICY := PASSIVE
# Jupyter looks in the course's own environment first (kernel, settings, extensions), never in
# the learner's global configuration.
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter

.PHONY: lab test test-fast install browser clean-venv test-setup

install: $(STAMP)

# Re-installs whenever pyproject.toml (the dependency list) changes. coursekit/course/setup.py does
# the work (the same as `python -m coursekit setup`, for learners without make): it creates .venv,
# says what it will download and how much, installs PyTorch's CPU-only build on Linux from PyTorch's
# CPU index (pip's configured index when that cannot be reached; COURSEKIT_TORCH=cuda for a CUDA
# build), shows pip's progress, and explains a failed download. It needs only Python, not torch.
# Also re-runs when the set-up itself changes (new lab settings reach existing .venvs).
$(STAMP): pyproject.toml coursekit/course/setup.py coursekit/course/labenv.py
	@$(PYTHON) -m coursekit setup

# The same as `python -m coursekit lab`: .venv first on PATH (the lab's Terminal finds the course's
# python and coursekit), --allow-root when run as root. Extra arguments: make lab LAB_ARGS="--port 8890"
lab: $(STAMP)
	@$(PY) -m coursekit lab -- $(LAB_ARGS)

# Debian's chromium for the real-browser test, and a CJK font so that it renders the Chinese lessons
# (root + apt only; otherwise that test says it skipped).
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -q "Noto Sans CJK"; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "note: could not install chromium and fonts-noto-cjk; the browser test will be skipped"; \
	  else echo "note: chromium or a CJK font not found and apt-get not usable here; the browser test will be skipped"; fi; }

test: $(STAMP) browser
	$(PY) -m coursekit pretrain --quiet
	$(PY) -m pytest -n 2 --dist loadfile

# the unit tier only: nothing starts a kernel or a browser
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not notebook and not browser" tests

# The Python-only set-up (python -m coursekit setup / lab, no make) in a clean clone of this checkout's
# last commit. Slow: it builds a second .venv (see tests/test_setup_clean_clone.py).
test-setup: $(STAMP)
	COURSEKIT_TEST_SETUP=1 $(PY) -m pytest -q -s -p no:xdist tests/test_setup_clean_clone.py

clean-venv:
	rm -rf $(VENV)
