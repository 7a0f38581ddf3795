# The two commands a newcomer runs: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo test test-slow fonts synth-compare clean

# The appliance on a CPU box: a virtual environment with the package and its runtime needs.
install: $(VENV)/.installed
$(VENV)/.installed: setup.py setup.cfg
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed, found " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The main job on its embedded defaults. Until the reading pipeline lands this checks the
# example allow-list an operator would import (every plate form the parser accepts) and makes
# a few synthetic scenes with their labels drawn on.
demo: install
	$(BIN)/anpr plate check --file boot/allowlist.example.txt
	rm -rf .demo
	$(BIN)/anpr synth .demo/scenes --count 8 --seed 1 --kind scenes --sheet .demo/sheet.png --quiet

# More Japanese fonts for synthetic plates (Debian); IPAex Gothic from PyPI is always there.
fonts:
	@if [ -f /usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf ]; then echo "Debian Japanese fonts present"; \
	else apt-get install -y -q fonts-ipafont-gothic fonts-takao-gothic fonts-vlgothic fonts-noto-cjk \
	  || echo "could not install Debian fonts (needs root and the Debian mirror); IPAex Gothic alone is used"; fi

# The realism check: real plate crops beside synthetic ones of the same text (needs ../shared).
synth-compare: install
	$(BIN)/anpr synth --compare ../shared/data/real-dev --picture synth-compare.png

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

test-slow: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
