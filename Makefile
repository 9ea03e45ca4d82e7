# Two entry points for a fresh machine: `make demo` and `make test`. Both create the
# virtual environment they need from the pinned constraints (requirements.lock).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' infra/kafka/pom.xml)
KAFKA_JARS ?= $(HOME)/.cache/compliance-monitor/kafka-$(KAFKA_VERSION)

.PHONY: install demo test test-quick reliability kafka-jars browser mail-tools metrics-tools quix-floor lint lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install  ## install, then run broker + ClickHouse + worker + simulator on the embedded defaults
	$(VENV)/bin/compliance-monitor demo $(ARGS)

kafka-jars:  ## fetch the pinned Apache Kafka broker jars from Maven Central (cached)
	@test -f $(KAFKA_JARS)/kafka_2.13-$(KAFKA_VERSION).jar || \
	  mvn -q -B -f infra/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(KAFKA_JARS)

browser:  ## Debian's chromium and CJK fonts for the page tests (apt-get, as root in CI)
	@command -v chromium >/dev/null && dpkg -s fonts-noto-cjk >/dev/null 2>&1 || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk)

mail-tools:  ## Debian's postfix and swaks for the mail-blocking tests (apt-get, as root in CI)
	@command -v postfix >/dev/null && command -v swaks >/dev/null || \
	  (echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections && \
	   apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix swaks)

# Debian starts the prometheus service it installs (and the node exporter it recommends): a
# policy-rc.d that refuses (unless one is in place) keeps both off, and systemd is told not
# to start prometheus at boot. The tests run their own Prometheus on a free loopback port.
metrics-tools:  ## Debian's prometheus and promtool for the rule and scrape tests (apt-get, as root in CI)
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
	  (apt-get update -q && \
	   if [ -e /usr/sbin/policy-rc.d ]; then added=; else \
	     printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && added=1; fi; \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus; status=$$?; \
	   if [ -n "$$added" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
	   if [ -d /run/systemd/system ]; then systemctl disable --now prometheus.service || true; fi; \
	   exit $$status)

# quixstreams caps pydantic below the project's pins, so the peer framework of `bench` gets an
# interpreter of its own (bench/quix.py); the bench reports quix_floor_rate when it exists.
quix-floor:  ## Quix Streams 3.28 in .venv-quix, for bench's quix_floor_rate
	@test -x .venv-quix/bin/python && .venv-quix/bin/python -c 'import quixstreams' 2>/dev/null || \
	  ($(PYTHON) -m venv .venv-quix && .venv-quix/bin/python -m pip install -q quixstreams==3.28.0)

test: install kafka-jars browser mail-tools metrics-tools quix-floor  ## everything, on both brokers (Tansu and Apache Kafka)
	$(VENV)/bin/ruff check .
	CM_TEST_ALL=1 $(PY) -m pytest -q -p no:cacheprovider --durations=30

reliability: install kafka-jars  ## not in CI: the failure tests on 12 simulated days, then a 30-minute soak
	CM_FAILURE_DAYS=12 $(PY) -m pytest -q -s -p no:cacheprovider tests/test_integration/test_failures.py
	$(PY) -m tests.reliability.soak --minutes 30 --rate 1000 --out soak.jsonl

test-quick: install  ## unit tests only, no broker
	$(PY) -m pytest -q -m "not broker"

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

lock: install  ## re-pin every dependency after changing pyproject.toml
	$(PY) -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) .venv-quix data .pytest_cache
