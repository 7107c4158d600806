# kreo-infra: every command a newcomer or CI needs. Everything is installed and
# cached inside the project (.venv, node_modules, .cache); nothing global beyond
# python3, pip, node and npm.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3

CACHE := $(CURDIR)/.cache
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export PIPENV_VERBOSITY := -1
export PIPENV_CACHE_DIR := $(CACHE)/pipenv
export PIP_CACHE_DIR := $(CACHE)/pip
export VIRTUALENV_OVERRIDE_APP_DATA := $(CACHE)/virtualenv
export npm_config_cache := $(CACHE)/npm
# jsii's package cache and checkov's files go here too, not in ~/.cache.
export XDG_CACHE_HOME := $(CACHE)/xdg
# The cdktf CLI and Terraform must not phone home.
export CHECKPOINT_DISABLE := 1
export CDKTF_DISABLE_PLUGIN_CACHE_ENV := 1
export DISABLE_VERSION_CHECK := 1
# Node 20 (this machine's) is past jsii's support window; it still works. CI on GitHub
# uses Node 22 (docs/decisions.md). Silences only the Node 20 banner.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

# The suite's Terraform tiers (docs/testing.md) find provider plugins the standard
# way; this names the offline filesystem mirror of the machine image, where there
# is one. KREO_TF_REGISTRY=1 lets terraform init download instead (GitHub workflows).
KREO_TF_PLUGIN_MIRROR ?= $(firstword $(wildcard /opt/tf-plugins))
export KREO_TF_PLUGIN_MIRROR

# The Pipfile's [[source]] is ${PIP_INDEX_URL}: pip's own configured index, or
# pip's built-in default, so no registry host is written in any committed file.
PIP_INDEX_URL ?= $(shell $(PYTHON) -m pip config get global.index-url 2>/dev/null \
	|| $(PYTHON) -c 'from pip._internal.models.index import PyPI; print(PyPI.simple_url)')
export PIP_INDEX_URL

PIPENV_VERSION := 2026.10.3
PIPENV := $(CACHE)/tools/bin/pipenv
VENV_BIN := .venv/bin
VENV_STAMP := .venv/.kreo-synced
NODE_STAMP := node_modules/.kreo-installed
CDKTF := node_modules/.bin/cdktf

.PHONY: help install synth test lint fmt tf-check emulate capacity bench lock plan deploy first-deploy preflight review review-example diagram clean distclean

# `make plan` / `make deploy`: ENV names the environment, PHASE one of its two
# phases (infrastructure: base..data; workloads: platform..observability, which
# need the private cluster API: docs/operations.md), STACK one of its layers
# (base, network, edge, cluster, data, platform, app, backup, observability) or
# `bootstrap` (the account's stack). Terraform >= 1.10 and AWS credentials needed.
ENV ?= staging
STACK ?=
NO_SYNTH ?=
# Only the gated deploy workflow passes --auto-approve (docs/operations.md).
DEPLOY_FLAGS ?=
STACK_ID = $(if $(filter bootstrap,$(STACK)),kreo-bootstrap,kreo-$(ENV)-$(STACK))

help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(PIPENV):
	$(PYTHON) -m venv $(CACHE)/tools
	$(CACHE)/tools/bin/pip install --quiet pipenv==$(PIPENV_VERSION)

$(VENV_STAMP): Pipfile Pipfile.lock pyproject.toml | $(PIPENV)
	$(PIPENV) verify
	$(PIPENV) sync --dev
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: $(VENV_STAMP) $(NODE_STAMP) ## Install Python (pipenv, .venv) and the cdktf CLI (npm).

synth: install ## Synthesize every environment (or KREO_ENVIRONMENTS=...) into cdktf.out/.
	@$(VENV_BIN)/python main.py --check
	$(CDKTF) synth

test: install ## Lint, then run the whole test suite.
	$(MAKE) --no-print-directory lint
	$(VENV_BIN)/pytest

lint: install ## ruff lint and format check.
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .

fmt: install ## Fix formatting and autofixable lint findings.
	$(VENV_BIN)/ruff format .
	$(VENV_BIN)/ruff check --fix .

tf-check: install ## Terraform tiers 1-2 on cdktf.out/: validate, then plan/apply/re-plan with mocks.
	@[ -d cdktf.out ] || $(MAKE) --no-print-directory synth
	$(VENV_BIN)/python -m kreo_infra.tfcheck test

emulate: install ## Terraform tier 3: apply production against a local AWS emulator (moto), then destroy.
	@# The suite's `emulator` marker (its own synthesis); for an existing cdktf.out/:
	@# .venv/bin/python -m kreo_infra.tfcheck emulate
	$(VENV_BIN)/pytest -m emulator -s -p no:cacheprovider tests/kreo_infra/tfcheck/test_emulator.py

capacity: install ## The capacity model of cdktf.out/ (make synth first): what each node group holds.
	$(VENV_BIN)/python -m tests.runtime.capacity

bench: install ## Synthesis time and peak memory against the bare provider import.
	$(VENV_BIN)/python bench/bench.py

plan: install ## terraform plan of one stack: make plan ENV=production STACK=network
	@test -n "$(STACK)" || { echo "usage: make plan ENV=<env> STACK=<layer|bootstrap>" >&2; exit 2; }
	@[ "$(STACK)" = bootstrap ] || KREO_ENVIRONMENTS=$(ENV) $(VENV_BIN)/python main.py --stacks \
		| grep -x "$(STACK_ID)" >/dev/null || { echo "unknown stack $(STACK_ID)" >&2; exit 2; }
	@[ -n "$(NO_SYNTH)" ] || KREO_ENVIRONMENTS=$(ENV) $(CDKTF) synth
	@# plan.status: 0 no changes, 2 changes (terraform -detailed-exitcode); errors fail.
	cd cdktf.out/stacks/$(STACK_ID) && terraform init -input=false -no-color >/dev/null \
		&& { terraform plan -input=false -no-color -lock-timeout=5m -detailed-exitcode \
			-out=plan.tfplan; status=$$?; [ $$status -ne 1 ] || exit 1; echo $$status > plan.status; } \
		&& terraform show -no-color plan.tfplan > plan.txt

deploy: install ## Deploy an environment's stacks in order (asks before each): make deploy ENV=staging [PHASE=infrastructure|workloads]
	KREO_ENVIRONMENTS=$(ENV) $(CDKTF) deploy $(DEPLOY_FLAGS) \
		$(if $(STACK),$(STACK_ID),$$(KREO_ENVIRONMENTS=$(ENV) $(VENV_BIN)/python main.py --stacks $(if $(PHASE),--phase $(PHASE))))

first-deploy: install ## Print every step of a first deploy into a fresh account, in order.
	@$(VENV_BIN)/python main.py --first-deploy

preflight: install ## Read-only checks of the live account before a deploy: make preflight ENV=production [STAGE=account|workloads]
	$(VENV_BIN)/python -m kreo_infra.preflight --env $(ENV) $(if $(STAGE),--stage $(STAGE))

review: install ## Markdown synth report of cdktf.out/ (BASE=other/cdktf.out adds the change report; exit 3 on danger)
	@[ -d cdktf.out ] || $(MAKE) --no-print-directory synth
	$(VENV_BIN)/python -m kreo_infra.review cdktf.out $(if $(BASE),--base $(BASE)) \
		$(if $(OUT),--out $(OUT)) $(if $(ONLY),--only $(ONLY))

review-example: install ## Regenerate docs/review-production.md (the committed example report).
	@[ -d cdktf.out ] || $(MAKE) --no-print-directory synth
	$(VENV_BIN)/python -m kreo_infra.review cdktf.out --only production --out docs/review-production.md >/dev/null

diagram: install ## Architecture diagrams (SVG) of every environment into docs/, from cdktf.out/.
	@[ -d cdktf.out ] || $(MAKE) --no-print-directory synth
	$(VENV_BIN)/python -m kreo_infra.review.diagram cdktf.out --out docs

lock: $(PIPENV) ## Re-lock Pipfile.lock and package-lock.json after editing their manifests.
	$(PIPENV) lock
	npm install --package-lock-only --no-audit --no-fund
	@# npm writes each package's "funding" links into the lock; npm ci does not
	@# need them, and lock files here carry no URLs at all.
	node -e 'const fs=require("fs"),p="package-lock.json",l=JSON.parse(fs.readFileSync(p));for(const k in l.packages)delete l.packages[k].funding;fs.writeFileSync(p,JSON.stringify(l,null,2)+"\n")'

clean: ## Remove synthesized output.
	rm -rf cdktf.out

distclean: clean ## Remove everything make installed.
	rm -rf .venv node_modules .cache
