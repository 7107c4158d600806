# kreo-infra: every command a newcomer or CI needs. Everything is installed and
# cached inside the project (.venv, node_modules, .cache); nothing global beyond
# python3, pip, node and npm.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3

# This Makefile's directory: the project's root, or main's trusted checkout when
# Renovate runs `make -f <main>/Makefile renovate-artifacts` in a branch's clone.
KREO_ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
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
# Node.js is the project's own: package.json's optional node-linux-<arch> build,
# locked in package-lock.json, linked alone into NODE_LINK (first on PATH), so the
# cdktf CLI (#!/usr/bin/env node) and the jsii runtime (JSII_NODE) run on it and
# not on the machine's (docs/decisions.md 79). Where no build applies (another OS
# or CPU), the machine's node is used and make says so.
NODE_LINK := $(CACHE)/node/bin
export PATH := $(NODE_LINK):$(PATH)
export JSII_NODE := node
# The frozen cdktf 0.21 CLI calls util.isArray (deprecated: DEP0044); only that
# warning is silenced.
export NODE_OPTIONS += --disable-warning=DEP0044

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

.PHONY: help install node-link synth test lint fmt tf-check emulate capacity bench lock plan plan-phase \
	bundle-plans verify-plans apply-plan apply-plans converged first-deploy-stack parent-zone-profile deploy \
	first-deploy preflight recovery-drill recovery-sweep \
	review review-example diagram resource-map runbook versions renovate-install renovate-check \
	renovate-artifacts renovate clean distclean

# `make plan` / `make deploy`: ENV names the environment, PHASE one of its two
# phases (infrastructure: base..data; workloads: platform..observability, which
# need the private cluster API: docs/operations.md), STACK one of its layers
# (base, network, edge, cluster, data, platform, app, backup, observability) or
# `bootstrap` (the environment's account stack). Terraform >= 1.11 and AWS credentials needed.
ENV ?= staging
STACK ?=
PHASE ?=
NO_SYNTH ?=
# One account per environment: its bootstrap stack is kreo-<env>-bootstrap too.
STACK_ID = kreo-$(ENV)-$(STACK)
# Saved plans (docs/operations.md, "Approving a deploy"): `make plan` writes
# PLAN_FILE (relative to the stack's directory) with plan.txt, plan.json and
# plan.status beside it; `make apply-plan` applies exactly that file. LOCK=false
# plans without taking the state lock: the read-only kreo-plan role cannot write
# the S3 lock object, and a saved plan needs no lock to stay safe, because
# `terraform apply` (which does lock) refuses a plan whose state changed since
# ("Saved plan is stale"; Terraform documentation, `terraform apply`, "Saved plan mode").
PLAN_FILE ?= plan.tfplan
LOCK ?= true
# REFRESH=false (by default whenever LOCK=false: the plan role's plans) plans
# against the state without reading every resource back. The plan role may not
# read secret values, and provider 6.25 reads a write-only secret version's value
# on refresh (hashicorp/terraform-provider-aws#42383; fixed by #44876, which uses
# ListSecretVersionIds, in a release after the frozen 6.25 bindings). Drift shows
# in `make converged` (the deploy role, refreshing) after every apply.
REFRESH ?= $(LOCK)
STACKS_DIR ?= cdktf.out/stacks
# The ordered stack list `make plan-phase` writes and the bundle carries.
PLAN_LIST ?= cdktf.out/plan-stacks.txt
# A bundle of saved plans (`make bundle-plans`, `make verify-plans`): what the
# deploy workflow's plan job uploads and its apply job verifies by DIGEST.
BUNDLE ?= plan-bundle
DIGEST ?=
# true: apply-plans plans and applies deferred stacks that only create (first deploy).
FIRST_DEPLOY ?=
# An edge stack whose zone is delegated from another account's zone reaches that
# zone through the profile kreo-parent-zone of parent-zone.aws-config beside it
# (kreo_infra.stacks.edge): plans get the parent's reader role, applies its
# delegation role, so a plan made read-only applies with the role that may write
# the NS record. The job's credentials (environment variables) assume it.
PARENT_ZONE_ACCESS ?= reader
define parent_zone_profile
	role=$$(KREO_ENVIRONMENTS=$(ENV) $(VENV_BIN)/python main.py --parent-zone-role $(1)); \
	if [ -n "$$role" ] && [ "$(STACK)" = edge ]; then \
		printf '[profile kreo-parent-zone]\nrole_arn = %s\ncredential_source = Environment\nrole_session_name = %s\n' \
			"$$role" "$(STACK_ID)" > $(STACKS_DIR)/$(STACK_ID)/parent-zone.aws-config; fi
endef
# The stacks a phase selects, in deployment order (one STACK, else PHASE, else all).
SELECTED = $(if $(STACK),$(STACK_ID),$$(KREO_ENVIRONMENTS=$(ENV) $(VENV_BIN)/python main.py --stacks \
	$(if $(PHASE),--phase $(PHASE))))

help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

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

# The project's node, linked alone (node_modules/.bin holds other tools that must
# not shadow the machine's); re-made whenever the link is missing.
node-link: $(NODE_STAMP)
	@if [ -x node_modules/.bin/node ]; then \
		[ "$$(readlink $(NODE_LINK)/node)" = $(CURDIR)/node_modules/.bin/node ] \
			|| { mkdir -p $(NODE_LINK) && ln -sfn $(CURDIR)/node_modules/.bin/node $(NODE_LINK)/node; }; \
	else echo "make: package-lock.json has no node-linux build for $$(uname -s)/$$(uname -m):" \
		"using the machine's $$(command -v node) ($$(node --version)); Node 22 or newer needed" >&2; fi

install: $(VENV_STAMP) $(NODE_STAMP) node-link ## Install Python (pipenv, .venv), the cdktf CLI and Node.js (npm).

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

plan: install ## terraform plan of one stack into a plan file: make plan ENV=production STACK=network [LOCK=false]
	@test -n "$(STACK)" || { echo "usage: make plan ENV=<env> STACK=<layer|bootstrap>" >&2; exit 2; }
	@[ "$(STACK)" = bootstrap ] || KREO_ENVIRONMENTS=$(ENV) $(VENV_BIN)/python main.py --stacks \
		| grep -x "$(STACK_ID)" >/dev/null || { echo "unknown stack $(STACK_ID)" >&2; exit 2; }
	@[ -n "$(NO_SYNTH)" ] || KREO_ENVIRONMENTS=$(ENV) $(CDKTF) synth
	@# plan.status: 0 no changes, 2 changes (terraform -detailed-exitcode); errors fail.
	@$(call parent_zone_profile,$(PARENT_ZONE_ACCESS))
	cd $(STACKS_DIR)/$(STACK_ID) && rm -f plan.status plan.txt plan.json \
		&& terraform init -input=false -no-color >/dev/null \
		&& { terraform plan -input=false -no-color -lock=$(LOCK) -refresh=$(REFRESH) -lock-timeout=5m \
			-detailed-exitcode -out=$(PLAN_FILE); status=$$?; [ $$status -ne 1 ] || exit 1; \
			echo $$status > plan.status; } \
		&& terraform show -no-color $(PLAN_FILE) > plan.txt \
		&& terraform show -json $(PLAN_FILE) > plan.json

plan-phase: install ## Plan a phase's stacks in order into plan files: make plan-phase ENV=staging PHASE=infrastructure [LOCK=false]
	@[ -n "$(NO_SYNTH)" ] || KREO_ENVIRONMENTS=$(ENV) $(CDKTF) synth
	@# A stack whose plan fails after an earlier one showed changes is deferred, not
	@# an error: it may read an output that stack creates (cross-stack references
	@# are remote-state reads). Its plan.status says so; the next run plans it.
	@mkdir -p $(dir $(PLAN_LIST)) && : > $(PLAN_LIST); changed=; \
	for stack in $(SELECTED); do \
		echo "$$stack" >> $(PLAN_LIST); \
		if $(MAKE) --no-print-directory plan ENV=$(ENV) STACK=$${stack#kreo-$(ENV)-} NO_SYNTH=1 \
			LOCK=$(LOCK) REFRESH=$(REFRESH) PLAN_FILE=$(PLAN_FILE) STACKS_DIR=$(STACKS_DIR); then \
			[ "$$(cat $(STACKS_DIR)/$$stack/plan.status)" = 0 ] || changed=$$stack; \
		elif [ -n "$$changed" ]; then \
			echo "::warning::$$stack deferred: its plan failed after $$changed showed changes; the next run plans it" >&2; \
			rm -f $(STACKS_DIR)/$$stack/$(PLAN_FILE); echo deferred > $(STACKS_DIR)/$$stack/plan.status; \
		else exit 1; fi; \
	done

bundle-plans: ## The plan-phase's stack directories (no .terraform/) and a SHA-256 manifest into BUNDLE; prints the manifest's digest
	@test -s "$(PLAN_LIST)" || { echo "no $(PLAN_LIST): make plan-phase first" >&2; exit 2; }
	@rm -rf $(BUNDLE) && mkdir -p $(BUNDLE)/stacks && cp $(PLAN_LIST) $(BUNDLE)/STACKS
	@tar -C $(STACKS_DIR) --exclude=.terraform --exclude=parent-zone.aws-config -cf - $$(cat $(PLAN_LIST)) \
		| tar -C $(BUNDLE)/stacks -xf -
	@cd $(BUNDLE) && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort \
		| tr '\n' '\0' | xargs -0 sha256sum > SHA256SUMS
	@sha256sum $(BUNDLE)/SHA256SUMS | cut -d' ' -f1

verify-plans: ## Check BUNDLE against DIGEST (its manifest's SHA-256) and every file against the manifest; then restore it
	@[[ "$(DIGEST)" =~ ^[0-9a-f]{64}$$ ]] || { echo "verify-plans: DIGEST=<sha256 of SHA256SUMS> needed" >&2; exit 2; }
	@cd $(BUNDLE) && echo "$(DIGEST)  SHA256SUMS" | sha256sum --check --strict --quiet \
		|| { echo "::error::the plan bundle's manifest is not the one the plan job made" >&2; exit 1; }
	@cd $(BUNDLE) && sha256sum --check --strict --quiet SHA256SUMS \
		|| { echo "::error::a planned file differs from the manifest" >&2; exit 1; }
	@cd $(BUNDLE) && diff <(find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort) \
		<(sed 's/^[0-9a-f]*  //' SHA256SUMS | LC_ALL=C sort) >/dev/null \
		|| { echo "::error::the plan bundle holds files the manifest does not name" >&2; exit 1; }
	@# Only now, verified: the stack directories and their order where apply-plans reads them.
	@mkdir -p $(STACKS_DIR) $(dir $(PLAN_LIST)) && cp -R $(BUNDLE)/stacks/. $(STACKS_DIR)/ \
		&& cp $(BUNDLE)/STACKS $(PLAN_LIST)
	@echo "verify-plans: $(BUNDLE) matches $(DIGEST); restored into $(STACKS_DIR)"

apply-plans: install ## Apply PLAN_LIST's saved plans in order (after verify-plans): make apply-plans ENV=staging
	@test -s "$(PLAN_LIST)" || { echo "no $(PLAN_LIST): make verify-plans (or plan-phase) first" >&2; exit 2; }
	@# 2: changes (its saved plan); 0: nothing to apply; deferred: nothing planned, so
	@# nothing applied, except on a first deploy (FIRST_DEPLOY=true): first-deploy-stack.
	@for stack in $$(cat $(PLAN_LIST)); do \
		status=$$(cat $(STACKS_DIR)/$$stack/plan.status 2>/dev/null); layer=$${stack#kreo-$(ENV)-}; \
		case "$$status" in \
		2) $(MAKE) --no-print-directory apply-plan ENV=$(ENV) STACK=$$layer STACKS_DIR=$(STACKS_DIR) || exit 1 ;; \
		0) echo "$$stack: no changes" ;; \
		deferred) if [ "$(FIRST_DEPLOY)" = true ]; then \
				$(MAKE) --no-print-directory first-deploy-stack ENV=$(ENV) STACK=$$layer STACKS_DIR=$(STACKS_DIR) || exit 1; \
			else echo "::warning::$$stack was deferred: nothing applied; the next run plans it"; fi ;; \
		*) echo "$$stack: no plan status" >&2; exit 1 ;; \
		esac; \
	done

apply-plan: install ## Apply one stack's saved plan file, nothing else: make apply-plan ENV=production STACK=network
	@test -n "$(STACK)" || { echo "usage: make apply-plan ENV=<env> STACK=<layer|bootstrap> [PLAN_FILE=plan.tfplan]" >&2; exit 2; }
	@test -f $(STACKS_DIR)/$(STACK_ID)/$(PLAN_FILE) \
		|| { echo "no plan file $(STACKS_DIR)/$(STACK_ID)/$(PLAN_FILE): make plan first" >&2; exit 2; }
	@# The plan file carries the configuration, variables and provider checksums it
	@# was made with; init only installs those providers (-lockfile=readonly) and a
	@# changed state makes Terraform refuse ("Saved plan is stale"):
	@# (Terraform documentation, `terraform apply`, "Saved plan mode"; docs/decisions.md 74.)
	@$(call parent_zone_profile,delegation)
	cd $(STACKS_DIR)/$(STACK_ID) && terraform init -input=false -no-color -lockfile=readonly >/dev/null \
		&& terraform apply -input=false -no-color -lock-timeout=5m $(PLAN_FILE)

converged: install ## After applying: re-plan the stacks (as deploy selects them); fail when one still has changes
	@# Saved plans of later stacks read the outputs earlier ones had at plan time;
	@# what an apply changed there shows up only in a new plan.
	@pending=; for stack in $(SELECTED); do \
		$(MAKE) --no-print-directory parent-zone-profile ENV=$(ENV) STACK=$${stack#kreo-$(ENV)-} \
			STACKS_DIR=$(STACKS_DIR) PARENT_ZONE_ACCESS=delegation; \
		( cd $(STACKS_DIR)/$$stack && terraform init -input=false -no-color >/dev/null \
			&& terraform plan -input=false -no-color -lock-timeout=5m -detailed-exitcode >/dev/null ) \
			|| pending="$$pending $$stack"; \
	done; \
	[ -z "$$pending" ] || { echo "::error::not converged:$$pending. Run the workflow again: the next plan shows the rest for approval" >&2; exit 4; }

first-deploy-stack: install ## First deploy only: plan a deferred stack, apply it only if it creates and nothing else
	@test -n "$(STACK)" || { echo "usage: make first-deploy-stack ENV=<env> STACK=<layer>" >&2; exit 2; }
	$(MAKE) --no-print-directory plan ENV=$(ENV) STACK=$(STACK) NO_SYNTH=1 STACKS_DIR=$(STACKS_DIR) \
		PARENT_ZONE_ACCESS=delegation
	$(VENV_BIN)/python -m kreo_infra.review.plan --require-create-only $(STACKS_DIR)/$(STACK_ID)
	@# On record beside the approved plans: what was applied without its own approval.
	@[ -z "$$GITHUB_STEP_SUMMARY" ] || $(VENV_BIN)/python -m kreo_infra.review.plan \
		--title "first deploy: $(STACK_ID), planned and applied in the deploy job (creates only)" \
		$(STACKS_DIR)/$(STACK_ID) >> "$$GITHUB_STEP_SUMMARY"
	$(MAKE) --no-print-directory apply-plan ENV=$(ENV) STACK=$(STACK) STACKS_DIR=$(STACKS_DIR)

parent-zone-profile: ## Write the parent-zone profile of an edge stack: make parent-zone-profile ENV=staging STACK=edge PARENT_ZONE_ACCESS=reader|delegation
	@$(call parent_zone_profile,$(PARENT_ZONE_ACCESS))

deploy: install ## Deploy an environment's stacks in order, asking before each (by hand only): make deploy ENV=staging [PHASE=infrastructure|workloads]
	@[ -n "$(NO_SYNTH)" ] || KREO_ENVIRONMENTS=$(ENV) $(CDKTF) synth
	@$(MAKE) --no-print-directory parent-zone-profile ENV=$(ENV) STACK=edge PARENT_ZONE_ACCESS=delegation
	KREO_ENVIRONMENTS=$(ENV) $(CDKTF) deploy --skip-synth $(SELECTED)

first-deploy: install ## Print every step of a first deploy into a fresh account, in order.
	@$(VENV_BIN)/python main.py --first-deploy

preflight: install ## Read-only checks of the live account before a deploy: make preflight ENV=production [STAGE=account|workloads]
	$(VENV_BIN)/python -m kreo_infra.preflight --env $(ENV) $(if $(STAGE),--stage $(STAGE))

# The recovery drill (docs/runbooks/disaster-recovery.md, "Drill (quarterly)"), in
# the environment's DR region, with production's database by default (ENV here is
# production unless given). SUBNET_GROUP and SECURITY_GROUPS (comma-separated ids)
# are the drill network's (the backup stack's outputs); SOURCE overrides the instance identifier
# (<stack_prefix>-postgres), REPORT the JSON report's path, SUMMARY appends the
# drills.md row as Markdown (the workflow's step summary).
recovery-drill recovery-sweep: ENV = production
REPORT ?= recovery-drill.json
recovery-drill: install ## Restore production's replicated backups in the DR region, check, time, tear down: make recovery-drill SUBNET_GROUP=<name> SECURITY_GROUPS=<sg-…,…> [SOURCE=<db>]
	KREO_ENVIRONMENTS=$(ENV) $(VENV_BIN)/python -m kreo_infra.recovery drill \
		--subnet-group "$(SUBNET_GROUP)" --security-groups "$(SECURITY_GROUPS)" --report "$(REPORT)" \
		$(if $(SOURCE),--source "$(SOURCE)") $(if $(SUMMARY),--summary "$(SUMMARY)")

recovery-sweep: install ## Delete the drill instances (kreo-drill-*) an interrupted drill left, older than a day.
	KREO_ENVIRONMENTS=$(ENV) $(VENV_BIN)/python -m kreo_infra.recovery sweep

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

runbook: install ## Regenerate the region-loss order and RTO budget in docs/runbooks/disaster-recovery.md (from config and drills.md).
	$(VENV_BIN)/python -m kreo_infra.recovery.budget --config config \
		--runbook docs/runbooks/disaster-recovery.md --drills docs/runbooks/drills.md

resource-map: install ## Regenerate docs/architecture.md's table of Terraform type -> construct -> file (synthesizes in-process).
	$(VENV_BIN)/python -m kreo_infra.review.resource_map --config config --charts charts --out docs/architecture.md

# npm lock files without running any package's scripts and without URLs: no
# "resolved" registry addresses (whatever the machine's .npmrc says) and no
# "funding" links (npm ci needs neither).
define lock_npm
	for dir in . $(RENOVATE_DIR); do \
		( cd $$dir && npm install --package-lock-only --ignore-scripts --no-audit --no-fund \
			--omit-lockfile-registry-resolved >/dev/null ) || exit 1; \
		node -e 'const fs=require("fs"),p=process.argv[1],l=JSON.parse(fs.readFileSync(p));for(const k in l.packages){delete l.packages[k].funding;delete l.packages[k].resolved}fs.writeFileSync(p,JSON.stringify(l,null,2)+"\n")' \
			$$dir/package-lock.json || exit 1; \
	done
endef

lock: $(PIPENV) ## Re-lock Pipfile.lock, package-lock.json and tools/renovate's after editing their manifests.
	@# Wheels only: locking builds no source distribution, so runs no package's code.
	PIP_ONLY_BINARY=:all: $(PIPENV) lock
	@$(lock_npm)

# Renovate (renovate.json5; docs/operations.md, "Dependency updates"): its own
# package and Node (>= 24) in tools/renovate, installed without running any
# package's scripts, and never by make synth or make test.
RENOVATE_DIR := tools/renovate
RENOVATE_STAMP := $(RENOVATE_DIR)/node_modules/.kreo-installed
RENOVATE_REPORT := $(CACHE)/renovate/extract.json
RENOVATE_LOG := $(CACHE)/renovate/extract.log
# Renovate's own Node first on PATH for Renovate alone; re2 (a native module whose
# install script is not run) replaced by JavaScript regular expressions.
RENOVATE_RUN = PATH=$(CURDIR)/$(RENOVATE_DIR)/node_modules/.bin:$$PATH RENOVATE_X_IGNORE_RE2=true LOG_LEVEL=warn

$(RENOVATE_STAMP): $(RENOVATE_DIR)/package.json $(RENOVATE_DIR)/package-lock.json
	cd $(RENOVATE_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

renovate-install: $(RENOVATE_STAMP) ## Install Renovate (tools/renovate) and nothing else.

renovate-check: install $(RENOVATE_STAMP) ## Validate renovate.json5 (--strict), extract every pin offline, check coverage and rules
	$(RENOVATE_RUN) renovate-config-validator --strict --no-global renovate.json5
	KREO_TRUSTED_ROOT=$(CURDIR) $(RENOVATE_RUN) renovate-config-validator --strict $(RENOVATE_DIR)/config.cjs
	@mkdir -p $(dir $(RENOVATE_REPORT)) && rm -f $(RENOVATE_REPORT) $(RENOVATE_LOG)
	@# The local platform: this working tree (git ls-files), no token, no network;
	@# with the weekly run's global configuration, whose resolved repository config
	@# (--print-config, in the JSON log) must carry main's post-upgrade task.
	KREO_TRUSTED_ROOT=$(CURDIR) RENOVATE_CONFIG_FILE=$(CURDIR)/$(RENOVATE_DIR)/config.cjs \
		$(RENOVATE_RUN) LOG_LEVEL=info LOG_FORMAT=json renovate --platform=local --dry-run=extract \
		--print-config --report-type=file --report-path=$(RENOVATE_REPORT) > $(RENOVATE_LOG)
	$(VENV_BIN)/python -m kreo_infra.review.renovate --report $(RENOVATE_REPORT) --log $(RENOVATE_LOG) \
		--out tests/renovate/extract.json
	$(RENOVATE_RUN) node $(RENOVATE_DIR)/rules.mjs tests/renovate/extract.json
	@git diff --quiet -- tests/renovate/extract.json \
		|| { echo "renovate-check: tests/renovate/extract.json was stale; commit the regenerated file" >&2; exit 1; }

# The post-upgrade task of a Renovate branch (tools/renovate/config.cjs): run as
# `make -f <main's checkout>/Makefile renovate-artifacts` in the branch's clone, so
# this recipe is main's and the tools are main's installed ones (KREO_ROOT), never
# the branch's. It re-locks (wheels only, npm without scripts: no code of an
# updated dependency runs) and regenerates docs/versions.md.
TRUSTED_PIPENV = $(KREO_ROOT)/.cache/tools/bin/pipenv
TRUSTED_PYTHON = $(KREO_ROOT)/$(VENV_BIN)/python
renovate-artifacts: ## (Renovate's post-upgrade task) re-lock and regenerate docs/versions.md with main's toolchain
	@test -x $(TRUSTED_PIPENV) && test -x $(TRUSTED_PYTHON) \
		|| { echo "renovate-artifacts: run make install in $(KREO_ROOT) first" >&2; exit 2; }
	@# Wheels only, and no build isolation: the Pipfile's editable kreo-infra needs
	@# its metadata built, which with isolation downloads the newest setuptools and
	@# runs it; without, the venv's own (seeded from pipenv's virtualenv) builds it.
	@# PIP_NO_BUILD_ISOLATION=0 *disables* isolation (pip reads --no-* options'
	@# variables inverted).
	$(TRUSTED_PIPENV) verify >/dev/null 2>&1 \
		|| PIP_ONLY_BINARY=:all: PIP_NO_BUILD_ISOLATION=0 $(TRUSTED_PIPENV) lock
	@$(lock_npm)
	@# -P: not the working directory (the branch) first on sys.path.
	PYTHONPATH=$(KREO_ROOT)/constructs $(TRUSTED_PYTHON) -P -m kreo_infra.review.versions --root . --out docs/versions.md

renovate: install $(RENOVATE_STAMP) ## The weekly Renovate run (the renovate workflow): RENOVATE_TOKEN and RENOVATE_REPOSITORIES needed
	@test -n "$$RENOVATE_TOKEN" || { echo "renovate: RENOVATE_TOKEN needed" >&2; exit 2; }
	KREO_TRUSTED_ROOT=$(CURDIR) RENOVATE_CONFIG_FILE=$(CURDIR)/$(RENOVATE_DIR)/config.cjs $(RENOVATE_RUN) renovate

versions: install ## Regenerate docs/versions.md: every pinned version, where it is set, what it moves with.
	$(VENV_BIN)/python -m kreo_infra.review.versions --root . --out docs/versions.md

clean: ## Remove synthesized output.
	rm -rf cdktf.out

distclean: clean ## Remove everything make installed.
	rm -rf .venv node_modules .cache
