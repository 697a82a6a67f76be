# essex-outreach: `make run` serves on http://127.0.0.1:8000, `make test` runs every check.
.DEFAULT_GOAL := help
SHELL := /bin/bash
DEV := scripts/dev.sh

.PHONY: help run test lint unit stop db migrate openapi bench fmt clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## set up everything (venv, assets, PostGIS under .data/, migrate, seed) and serve on :8000
	@$(DEV) run

test: ## the full gate (CI): the same setup, then lint, then every test against a real PostGIS
	@$(DEV) test $(PYTEST_ARGS)

lint: ## ruff, format check, mypy and import-linter (no database; seconds)
	@$(DEV) lint

unit: ## pure tests and doctests (no database; seconds)
	@$(DEV) unit $(PYTEST_ARGS)

stop: ## stop the project-local PostgreSQL cluster
	@$(DEV) db-stop

db: ## start (or create) the project-local PostGIS cluster
	@$(DEV) db-start

migrate: ## migrate and seed the database
	@$(DEV) migrate

openapi: ## regenerate openapi/openapi.json from the app
	@$(DEV) venv && .venv/bin/outreach openapi --output openapi/openapi.json

bench: ## run every benchmark (quick sizes; see bench/README.md for full runs)
	@$(DEV) setup && for b in bench/*.py; do n=$$(basename $$b .py); case $$n in __init__|synthetic) ;; *) .venv/bin/python -m bench.$$n --quick ;; esac; done

fmt: ## format the code
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

clean: ## stop and delete the local cluster, remove .data, .venv and node_modules
	@$(DEV) db-remove
	rm -rf .data .venv node_modules service/web/static/vendor
