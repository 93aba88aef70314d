.PHONY: test demo lint

# The whole suite (lint, types, SQLite, PostgreSQL); installs what it needs.
test:
	scripts/test.sh

# The demo site talking WebSockets through the local gateway (SQLite, no AWS account).
demo:
	scripts/demo.sh

lint:
	.venv/bin/ruff check src tests
	.venv/bin/mypy
