// Package lister finds export blobs and publishes work for them.
//
// It walks each container of a Source hierarchically, one folder level at
// a time, and skips every y=/m=/d=/h= folder outside the time range, so a
// replay of one day lists one day, not the container. For each blob it
// compares the size with how far the blob was already published (kept in
// an Offsets store) and publishes one task for the new byte range through
// a Publisher (workers.Publisher), with a message id derived from the
// blob, its etag and the range (the Nats-Msg-Id): listing again creates no
// duplicate work. Sources list schema.Blob values; the package imports no
// source and no NATS package.
//
// # Final blobs
//
// An append blob may end in the middle of a line while Azure is still
// appending. A task is final (its last line is parsed even without a
// newline) only when the blob can no longer grow: its hour ended more
// than Config.Recent ago and it has not changed for Config.FinalAfter (a
// blob without an hour in its path: the last change alone). Until then
// the unfinished line waits (schema.BlobState.Waiting) and is read, whole,
// by a later task. The lister remembers the blobs that are not final and
// lists their folders again when the watched window has moved past their
// hour, so each gets its final task.
//
// # Concurrency
//
// Two listers may run at once (a rolling update). A range is claimed in
// the blob's state with a compare-and-set before its tasks are published,
// and the published offset moves to the claim's end after; a lister that
// finds a claim publishes the same tasks again (dropped as duplicates)
// and completes it. No two ranges overlap, and no offset goes back.
//
// # Errors
//
// A listing or publishing error ends the pass and is returned wrapped with
// the container and prefix; the next pass starts again from the stored
// offsets, so nothing is skipped.
package lister
