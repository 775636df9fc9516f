# pokeil-jax: `make demo` runs the whole job on the bundled game, `make test` runs the tests.
PY := .venv/bin/python
export SDL_VIDEODRIVER ?= dummy
export SDL_AUDIODRIVER ?= dummy
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: setup setup-baseline setup-extras demo demo-quest test test-fast rom rom-check screenshots bench clean

setup:            ## install what is missing (libmgba0.10, .venv, requirements); no-op when done
	@scripts/setup.sh

setup-baseline:   ## setup + PyTorch CPU build for the baseline comparison
	@scripts/setup.sh baseline

setup-extras:     ## setup + Minari and Weights & Biases (optional: datasets in/out, --track)
	@scripts/setup.sh extras

demo: setup       ## collect expert demos, train BC, evaluate on unseen seeds, print expert vs policy
	@scripts/demo.sh

demo-quest: setup ## MiniMon Quest headroom: expert demos, BC alone and BC + DAgger, one table per milestone
	@scripts/demo_quest.sh

test: setup-baseline setup-extras  ## the whole test suite (slow end-to-end tests included)
	$(PY) -m pytest -q -ra

test-fast: setup  ## tests without the slow end-to-end ones
	$(PY) -m pytest -q -ra -m "not slow"

rom:              ## rebuild the bundled ROMs (needs gcc-arm-none-eabi: scripts/setup.sh toolchain)
	$(MAKE) -C pokeil_jax/games/minimon install

rom-check:        ## rebuild both ROMs and check they are byte-identical to the committed ones
	$(MAKE) -C pokeil_jax/games/minimon check

screenshots: setup
	$(PY) scripts/make_screenshots.py

bench: setup-baseline  ## all benchmarks (prints ratios against references measured in the same run)
	$(PY) benchmarks/env_speed.py
	$(PY) benchmarks/loader_speed.py
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf runs .pytest_cache
