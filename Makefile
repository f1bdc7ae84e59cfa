test:
	./scripts/test.sh

build:
	go build -o entralake ./cmd/entralake

demo:
	go run ./cmd/entralake run --source testdata/export --lake ./lake --once

.PHONY: test build demo

bench:
	cd bench && go run .

.PHONY: bench
