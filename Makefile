# logsorter: every workflow goes through here; CI and pre-commit call these targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
# pyo3 (clippy, the extension build) must see the project's interpreter.
export PYO3_PYTHON := $(abspath $(BIN)/python)

RUST_SOURCES := $(wildcard rust/*.rs rust/*/*.rs rust/*/*/*.rs) Cargo.toml Cargo.lock python/logsorter/ruleset.toml
PYTEST := $(BIN)/python -m pytest

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'maturin>=1.9.4,<2'

$(STAMPS)/develop: $(BIN)/python $(RUST_SOURCES) pyproject.toml | $(STAMPS)
	$(BIN)/maturin develop --release --extras dev
	@touch $@

$(STAMPS):
	@mkdir -p $@

.PHONY: install
install: $(STAMPS)/develop ## create .venv, build the extension, install dev tools

.PHONY: demo
demo: install ## run both functions on embedded defaults (no AWS account needed)
	@echo "== logsorter classify fixtures/sample-ci-log.txt (default ruleset)"
	$(BIN)/logsorter classify --format text fixtures/sample-ci-log.txt
	@echo
	@echo "== the classifier Lambda handler against an embedded moto server"
	$(BIN)/python scripts/demo_classifier.py
	@echo
	@echo "== the collator on a local store: sample uploads for a few devices, then collate"
	rm -rf demo-output
	$(BIN)/logsorter sample phone-logs --out demo-output --users 3 --records 200
	$(BIN)/logsorter collate --store demo-output
	@echo "outputs of one device (all devices: demo-output/collated_logs):"
	@cd demo-output && find collated_logs -type f ! -name '.*' -path '*user0000*' | sort | sed 's/^/  /'
	@echo "its SMS as text (first lines):"
	@head -4 demo-output/collated_logs/user-user0000/device-dev00000/sms.txt | cut -c1-120 | sed 's/^/  /'

.PHONY: fmt
fmt: install ## format Python and Rust sources
	$(BIN)/ruff format python tests benches scripts
	$(BIN)/ruff check --fix python tests benches scripts
	cargo fmt

.PHONY: lint
lint: install ## ruff, mypy --strict, stub check, cargo fmt --check, clippy -D warnings
	$(BIN)/ruff check python tests benches scripts
	$(BIN)/ruff format --check python tests benches scripts
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest --mypy-config-file pyproject.toml logsorter._core
	$(BIN)/hadolint Dockerfile
	cargo fmt --check
	cargo clippy --all-targets --all-features --quiet -- -D warnings

.PHONY: test
test: install ## unit tests: cargo test and pytest (not integration)
	cargo test --quiet
	$(PYTEST) -m "not integration" -q

STACK_STATE := $(STAMPS)/stack.json

# The report's browser test drives Debian's Chromium (Playwright, from the
# dev extras, downloads no browser of its own). Installing it may fail (no
# root, no apt): the test then skips and says why.
.PHONY: browser
browser: | $(STAMPS) ## install Chromium from Debian's packages for the report's browser test, if missing
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium (apt-get) for the report's browser test"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
			>$(STAMPS)/chromium-install.log 2>&1 \
		|| echo "make browser: chromium could not be installed (see $(STAMPS)/chromium-install.log); the browser test will skip"; \
	}

.PHONY: integration
integration: install wheel browser ## integration tests, against the stack `make up` started if any
	$(if $(wildcard $(STACK_STATE)),LOGSORTER_STACK=$(abspath $(STACK_STATE))) $(PYTEST) -m integration -q

.PHONY: up
up: install ## start the stack: compose with a Docker engine, else local processes on loopback
	@if docker info >/dev/null 2>&1; then \
		docker compose up --detach --build && \
		$(BIN)/python scripts/local_stack.py --compose --state $(STACK_STATE); \
	else \
		echo "no Docker engine: starting the stack as local processes (logs in $(STAMPS)/*.log)"; \
		rm -f $(STACK_STATE); \
		nohup $(BIN)/python scripts/local_stack.py --state $(STACK_STATE) --logs $(STAMPS) \
			> $(STAMPS)/stack.log 2>&1 & \
		for _ in $$(seq 120); do [ -f $(STACK_STATE) ] && break; sleep 0.5; done; \
		[ -f $(STACK_STATE) ] || { echo "the stack did not start:"; cat $(STAMPS)/stack.log; exit 1; }; \
	fi
	@cat $(STACK_STATE)

.PHONY: down
down: ## stop what `make up` started
	@if [ -f $(STACK_STATE) ] && grep -q '"pid"' $(STACK_STATE); then \
		kill $$($(BIN)/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' $(STACK_STATE)); \
		for _ in $$(seq 60); do [ -f $(STACK_STATE) ] || break; sleep 0.5; done; \
	elif docker info >/dev/null 2>&1; then \
		docker compose down; \
	fi
	@rm -f $(STACK_STATE)

.PHONY: template
template: install ## cfn-lint deploy/template.yaml, translate it offline into dist/template.json
	$(BIN)/cfn-lint deploy/template.yaml
	$(BIN)/python scripts/sam_template.py --out dist/template.json

# make push / make deploy settings (see README, Deploying).
ARCHITECTURE ?= arm64
PLATFORM := $(if $(filter x86_64,$(ARCHITECTURE)),linux/amd64,linux/arm64)
IMAGE_TAG ?= $(shell date -u +%F)-$(shell git rev-parse --short HEAD)
STAGE ?= staging
STACK ?= logsorter-$(STAGE)

.PHONY: push
push: install ## build the image for ARCHITECTURE (arm64), tag it DATE-SHA, push it to ECR_REPOSITORY (needs Docker)
	@[ -n "$(ECR_REPOSITORY)" ] || { echo "make push: set ECR_REPOSITORY=ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME"; exit 2; }
	@docker info >/dev/null 2>&1 || { echo "make push: no Docker engine is reachable here, so the image cannot be built."; exit 1; }
	@# The registry password through boto3, so that no AWS CLI is needed.
	$(BIN)/python -c 'import base64, boto3; token = boto3.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]; print(base64.b64decode(token).decode().partition(":")[2])' \
		| docker login --username AWS --password-stdin $(firstword $(subst /, ,$(ECR_REPOSITORY)))
	docker build --platform $(PLATFORM) -t $(ECR_REPOSITORY):$(IMAGE_TAG) .
	docker push $(ECR_REPOSITORY):$(IMAGE_TAG)
	@echo "ImageUri=$(ECR_REPOSITORY):$(IMAGE_TAG)"

.PHONY: sam-cli
sam-cli: $(BIN)/python ## install the AWS SAM CLI into .venv (make deploy needs it)
	$(BIN)/python -m pip install --quiet aws-sam-cli

.PHONY: deploy
deploy: install ## sam deploy STACK (logsorter-STAGE) with the parameters of deploy/STAGE.env (STAGE=staging|production)
	@case "$(STAGE)" in staging|production) ;; *) echo "make deploy: STAGE is staging or production"; exit 2;; esac
	@[ -f deploy/$(STAGE).env ] || { echo "make deploy: write deploy/$(STAGE).env first (from deploy/$(STAGE).env.example)"; exit 2; }
	@[ -x $(BIN)/sam ] || { echo "make deploy: the SAM CLI is not in $(VENV); 'make sam-cli' installs it"; exit 2; }
	@$(BIN)/python -c 'import boto3, sys; sys.exit(boto3.Session().get_credentials() is None)' \
		|| { echo "make deploy: no AWS credentials (environment, profile or SSO login)"; exit 2; }
	$(BIN)/sam deploy --template-file deploy/template.yaml --stack-name $(STACK) \
		--capabilities CAPABILITY_IAM --resolve-s3 --no-fail-on-empty-changeset \
		--parameter-overrides $$($(BIN)/python scripts/deploy_stack.py --stage $(STAGE) deploy/$(STAGE).env)

.PHONY: check
check: lint template test integration ## everything CI runs

.PHONY: bench
bench: install ## benchmarks (pytest-benchmark), baselines side by side
	$(BIN)/python -m pytest benches -q -s --benchmark-columns=min,median,mean,rounds

.PHONY: wheel
wheel: $(BIN)/python ## release wheel (LTO, one codegen unit, stripped) into dist/
	rm -f dist/logsorter-*.whl
	$(BIN)/maturin build --profile dist --out dist

.PHONY: compose
compose: ## build the Lambda container image (needs a Docker engine)
	@if docker info >/dev/null 2>&1; then \
		docker compose build; \
	else \
		echo "make compose: no Docker engine is reachable here, so the image cannot be built."; \
		echo "Use 'make up' for the same stack as local processes, or build on a machine with Docker."; \
		exit 1; \
	fi

.PHONY: clean
clean: ## remove build outputs and the virtual environment
	rm -rf $(VENV) $(STAMPS) target dist .pytest_cache .mypy_cache .ruff_cache .benchmarks
	rm -f python/logsorter/_core.*.so
