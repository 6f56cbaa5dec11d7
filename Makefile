# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install lint typecheck unit test demo synth contract package-portal bench fuzz clean browser

$(STAMP): pyproject.toml requirements.lock
	@scripts/check_prerequisites.sh $(PYTHON)
	@scripts/install.sh $(PYTHON) $(VENV)
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Debian's chromium for the catalog browser tests (root + apt only; they skip with a reason otherwise)
browser:
	@scripts/install_chromium.sh

test: install lint typecheck browser
	$(BIN)/python -m broker_contract --check
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

demo: install
	@scripts/check_prerequisites.sh $(PYTHON)
	$(BIN)/python -m local_mode $(if $(ONCE),--once,) $(if $(FRESH),--fresh,)

# Synthesize the core stacks into cdktf.out/ (what `cdktf synth` does, without the cdktf CLI).
synth: install
	$(BIN)/python -m cdktf_stacks

# Regenerate the contract's exported JSON Schemas and example deployment files.
contract: install
	$(BIN)/python -m broker_contract --write

# Build the portal's deployable bundle into build/portal-<stage>/ (a stage filled by `python -m cdktf_stacks.outputs`;
# vendors broker_contract into build/portal-<stage>.project/, region from config/<env>.json): make package-portal STAGE=dev
package-portal: install
	$(BIN)/python portal_chalice/package_portal.py $(or $(STAGE),dev)

# Schemathesis (all checks, stateful phase, >= 1,000 cases) against the portal on loopback over moto_server.
fuzz: install
	$(BIN)/python -m tests.support.portal_fuzz $(if $(MAX_EXAMPLES),--max-examples $(MAX_EXAMPLES),)

bench: install
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) cdktf.out .local .local-bench .pytest_cache .mypy_cache .ruff_cache .hypothesis test-output
