#!/usr/bin/env bash
# Runs every test: the main module's, then the end-to-end tests in e2e/,
# with go vet and staticcheck on each module (bench/ too). staticcheck runs
# through `go run` at a pinned version: nothing to install beforehand.
# Installs Azurite (the Azure Blob Storage emulator the tests start on a
# loopback port) into .tools/ first if it is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# 3.35.0 is the last Azurite whose engines field and dependencies accept
# Node.js 20 (3.36.0 wants Node >= 21, 3.37.0 >= 22); it serves the blob API
# versions the tests use (started with --skipApiVersionCheck).
AZURITE_VERSION=3.35.0
# v0.8.2 is staticcheck 2026.2.2, built for Go 1.26 (its go.mod says go 1.26.0).
STATICCHECK="honnef.co/go/tools/cmd/staticcheck@v0.8.2"
AZURITE_BIN="$PWD/.tools/azurite/node_modules/.bin/azurite-blob"

if [[ ! -x "$AZURITE_BIN" || "$("$AZURITE_BIN" --version 2>/dev/null)" != "$AZURITE_VERSION" ]]; then
	echo "==> installing azurite@$AZURITE_VERSION into .tools/azurite"
	npm install --no-audit --no-fund --prefix .tools/azurite "azurite@$AZURITE_VERSION"
fi
export ENTRALAKE_AZURITE_BIN="$AZURITE_BIN"

# The corpus tests (e2e TestRunOnceCorpus, TestRunOnceSplitTasks,
# TestDocQueries/corpus) read ../shared/corpus, next to the clone. Without
# it they skip, which go test shows only with -v: say it here. Under CI
# (CI=true) they fail instead.
if ! compgen -G "../shared/corpus/entra-export/*.json" >/dev/null; then
	echo "==> note: ../shared/corpus is absent: the e2e tests on the real corpus will be skipped"
fi

echo "==> main module: go vet, staticcheck, go test"
go vet ./...
go run "$STATICCHECK" ./...
go test -count=1 -timeout 15m ./...

echo "==> bench module: staticcheck"
(cd bench && go run "$STATICCHECK" ./...)

echo "==> e2e module: go vet, staticcheck, go test"
(cd e2e && go vet ./... && go run "$STATICCHECK" ./... && go test -count=1 -timeout 15m ./...)
