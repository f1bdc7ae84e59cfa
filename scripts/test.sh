#!/usr/bin/env bash
# Runs every test: the main module's, then the end-to-end tests in e2e/,
# with go vet and staticcheck on each module (bench/ too). staticcheck runs
# through `go run` at a pinned version: nothing to install beforehand.
# Installs Azurite (the Azure Blob Storage emulator the tests start on a
# loopback port) into .tools/ first if it is missing, and versitygw (S3)
# and fake-gcs-server (GCS) into .tools/bin, and starts a
# throwaway PostgreSQL cluster (scripts/postgres.sh) for the Iceberg SQL
# catalog tests, unless ENTRALAKE_TEST_POSTGRES already names one.
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

# icebird (an Iceberg reader in JavaScript, e2e TestIcebirdReadsIceberg):
# the versions pinned by e2e/icebird/package-lock.json, installed with npm ci
# into .tools/icebird when the lock changed; e2e/icebird/node_modules links
# there, so that read.mjs finds it.
ICEBIRD_DIR="$PWD/.tools/icebird"
if ! cmp -s e2e/icebird/package-lock.json "$ICEBIRD_DIR/package-lock.json"; then
	echo "==> installing icebird (e2e/icebird/package-lock.json) into .tools/icebird"
	mkdir -p "$ICEBIRD_DIR"
	cp e2e/icebird/package.json e2e/icebird/package-lock.json "$ICEBIRD_DIR/"
	(cd "$ICEBIRD_DIR" && npm ci --no-audit --no-fund)
fi
ln -sfn "$ICEBIRD_DIR/node_modules" e2e/icebird/node_modules

# The object store servers of the lake tests (internal/objtest), pinned,
# built with go install into .tools/bin: versitygw, an S3 gateway on a
# local folder (Apache-2.0; real SigV4, multipart, conditional writes), and
# fake-gcs-server, a GCS emulator. The first build takes a few minutes.
VERSITYGW_VERSION=v1.8.0
FAKEGCS_VERSION=v1.56.1
install_tool() { # name module version
	local stamp=".tools/bin/.$1-$3"
	if [[ ! -x ".tools/bin/$1" || ! -e "$stamp" ]]; then
		echo "==> installing $2@$3 into .tools/bin"
		GOBIN="$PWD/.tools/bin" go install "$2@$3"
		touch "$stamp"
	fi
}
install_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
install_tool fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKEGCS_VERSION"
export ENTRALAKE_VERSITYGW_BIN="$PWD/.tools/bin/versitygw" ENTRALAKE_FAKEGCS_BIN="$PWD/.tools/bin/fake-gcs-server"

# The corpus tests (e2e TestRunOnceCorpus, TestRunOnceSplitTasks,
# TestDocQueries/corpus) read ../shared/corpus, next to the clone. Without
# it they skip, which go test shows only with -v: say it here. Under CI
# (CI=true) they fail instead.
if ! compgen -G "../shared/corpus/entra-export/*.json" >/dev/null; then
	echo "==> note: ../shared/corpus is absent: the e2e tests on the real corpus will be skipped"
fi

if [[ -z ${ENTRALAKE_TEST_POSTGRES:-} ]]; then
	if pgdir=$(scripts/postgres.sh start); then
		trap 'scripts/postgres.sh stop "$pgdir"' EXIT
		ENTRALAKE_TEST_POSTGRES=$(scripts/postgres.sh url "$pgdir")
		export ENTRALAKE_TEST_POSTGRES
		echo "==> PostgreSQL for the catalog tests: $ENTRALAKE_TEST_POSTGRES"
	elif [[ -n ${CI:-} ]]; then
		echo "==> PostgreSQL did not start: CI runs the PostgreSQL catalog tests" >&2
		exit 1
	else
		echo "==> PostgreSQL not started (apt-get install -y postgresql): its catalog tests will skip"
	fi
fi

echo "==> main module: go vet, staticcheck, go test"
go vet ./...
go run "$STATICCHECK" ./...
go test -count=1 -timeout 15m ./...

echo "==> bench module: staticcheck"
(cd bench && go run "$STATICCHECK" ./...)

echo "==> e2e module: go vet, staticcheck, go test"
(cd e2e && go vet ./... && go run "$STATICCHECK" ./... && go test -count=1 -timeout 15m ./...)
