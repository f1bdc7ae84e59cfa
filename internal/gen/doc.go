// Package gen writes synthetic Microsoft Entra ID diagnostic exports: the
// PT1H.json blobs Azure writes to insights-logs-<category> containers, one
// JSON line (CRLF) per record, with the field shapes of real exports
// (nested properties, deviceDetail/status/location objects,
// authenticationDetails and conditional-access arrays, audit
// targetResources with modifiedProperties, Graph activity ticks, risk
// events with US-style times).
//
// It exists to measure throughput: a Generator is deterministic for a seed
// (math/rand/v2 PCG), so the same Config always gives the same bytes, and it
// writes fast enough (several hundred MB/s per core) not to be the
// bottleneck of a benchmark.
//
// gen does no file I/O: Blobs plans the export (one blob per category per
// hour, records spread over the hours with a daily curve) and WriteBlob
// streams one blob to an io.Writer. Blobs can be written concurrently; each
// has its own random stream, so the order in which they are written does not
// change their bytes.
//
// The population behind the records is fixed by the seed: a few thousand
// users (Config.Users), tens of applications, hundreds of IP addresses,
// service principals and managed identities, so columns have realistic
// cardinalities, while ids such as correlationId, id and
// uniqueTokenIdentifier are new in every record.
//
// # Errors
//
// New returns ErrUnknownCategory for a category it cannot generate and
// ErrInvalidConfig for a negative or zero size; WriteBlob returns the
// writer's errors.
package gen
