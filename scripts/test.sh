#!/usr/bin/env bash
# Runs every test: the main module's, then the end-to-end tests in e2e/.
# Installs Azurite (the Azure Blob Storage emulator the tests start on a
# loopback port) into .tools/ first if it is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

AZURITE_VERSION=3.37.0
AZURITE_BIN="$PWD/.tools/azurite/node_modules/.bin/azurite-blob"

if [[ ! -x "$AZURITE_BIN" ]]; then
	echo "==> installing azurite@$AZURITE_VERSION into .tools/azurite"
	npm install --no-audit --no-fund --prefix .tools/azurite "azurite@$AZURITE_VERSION"
fi
export ENTRALAKE_AZURITE_BIN="$AZURITE_BIN"

echo "==> main module: go vet, go test"
go vet ./...
go test -count=1 -timeout 15m ./...

echo "==> e2e module: go vet, go test"
(cd e2e && go vet ./... && go test -count=1 -timeout 15m ./...)
