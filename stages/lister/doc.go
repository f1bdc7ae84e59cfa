// Package lister finds export blobs and publishes work for them.
//
// It walks each container of a Source hierarchically, one folder level at
// a time, and skips every y=/m=/d=/h= folder outside the time range, so a
// replay of one day lists one day, not the container. For each blob it
// compares the size with how far the blob was already published (kept in
// an Offsets store) and publishes one task for the new byte range, with a
// Nats-Msg-Id derived from the blob, its etag and the range: listing again
// creates no duplicate work.
//
// # Errors
//
// A listing or publishing error ends the pass and is returned wrapped with
// the container and prefix; the next pass starts again from the stored
// offsets, so nothing is skipped.
package lister
