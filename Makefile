# Set-up, run and test on a fresh Debian/Ubuntu machine with Python 3.11.
#   make run      - install what is missing, then start Encore
#   make test     - install what is missing, then lint, run the whole test suite, and
#                   build the packaged app and smoke-check it outside the venv
#   make package  - build the one-folder app in dist/encore/ (package-onefile: one file)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# librosa (the tests' reference for engine/dsp.py; Encore itself runs no JIT code) compiles
# with numba: its cache lives outside the clone, so only the first test run compiles.
export NUMBA_CACHE_DIR ?= $(HOME)/.cache/encore/numba

# Qt (offscreen and windowed), QtMultimedia's audio output, and fonts; dbus-daemon (with
# dbus-send) for the MPRIS tests' private session bus.
APT_PACKAGES := libpulse0 libgl1 libegl1 libxkbcommon0 libdbus-1-3 fontconfig-config \
	fonts-dejavu-core libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libglib2.0-0 dbus-daemon

.PHONY: run test test-fast lint format system-deps venv clean package package-onefile package-smoke

run: system-deps venv
	$(BIN)/encore

test: system-deps venv lint
	$(BIN)/python -m pytest
	$(MAKE) package-smoke

package: venv
	$(BIN)/pyinstaller --noconfirm --log-level WARN build.spec

package-onefile: venv
	ENCORE_ONEFILE=1 $(BIN)/pyinstaller --noconfirm --log-level WARN build.spec

package-smoke: package
	tests/packaging/smoke_frozen.sh dist/encore/encore

test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

# lint-imports checks the contracts in pyproject.toml: the layering, and no import cycle
# among Encore's modules (TYPE_CHECKING imports count; tools/import_cycles.py).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "Encore needs these system packages. Install them, then run make again:"; \
			echo "  sudo apt-get install -y" $$missing; \
			exit 1; \
		fi; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e '.[spark]' --group dev
	touch $@

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
