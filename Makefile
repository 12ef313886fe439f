# Set-up and run targets; see README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install demo-db run web scheduler test bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Create or upgrade the database, register the BPMN process models, load demo data.
demo-db: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask workflows load
	$(BIN)/flask demo load

# Web server and scheduler together; Ctrl-C stops both.
run: demo-db
	@echo "Web: http://$(HOST):$(PORT)/  (scheduler log: instance/scheduler.log)"
	$(BIN)/python -m scheduler > instance/scheduler.log 2>&1 & \
	SCHEDULER_PID=$$!; \
	trap 'kill $$SCHEDULER_PID 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) --timeout 120 wsgi:app

web: demo-db
	$(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) --timeout 120 wsgi:app

scheduler: demo-db
	$(BIN)/python -m scheduler

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench.import_bench
	$(BIN)/python -m bench.submit_bench
	$(BIN)/python -m bench.sweep_bench
