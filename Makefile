.PHONY: demo test bench lint
demo:
	bash scripts/run.sh demo
test:
	bash scripts/run.sh test
bench:
	.venv/bin/python bench/export_bench.py
lint:
	.venv/bin/ruff check app tests bench
