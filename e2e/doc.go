// Package e2e holds the end-to-end tests of entralake. It is a module of its
// own so that DuckDB, the independent Parquet reader the tests check the lake
// with, never becomes a dependency of the main module.
//
// The tests do not import the main module. TestMain builds the binary from
// ../cmd/entralake once per run and the tests run it as a subprocess, then
// compare the lake it wrote with an oracle that decodes the same input with
// encoding/json.
//
// Set E2E_ENTRALAKE_BIN to test a binary built elsewhere instead.
package e2e
