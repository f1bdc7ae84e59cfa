// Package workers is the JetStream machinery every stage shares: the
// embedded server for the zero-set-up default, the idempotent set-up of
// streams, consumers and key-value buckets, and Pool, which pulls messages
// with bounded concurrency and acks, naks or terminates each one according to
// what its Handler returned. It is the only package besides internal/cli
// that knows NATS: stages see a message as a schema.Message, which Pool
// adapts from jetstream.Msg, and publish schema.Outgoing values through
// Publisher; the ledger (Ledger), the offsets (Offsets), finished tasks
// (Tasks), health records and dead letters are key-value buckets and
// streams kept here, behind the small interfaces the stages declare.
//
// # Topology
//
//	lister --(task, Nats-Msg-Id)--> ENTRALAKE_TASKS   (work queue) --> "parsers" consumer
//	parser --(Arrow IPC batch)----> ENTRALAKE_BATCHES (work queue) --> "writers" consumer
//	failed tasks after MaxDeliver -> ENTRALAKE_DLQ (limits, kept for `entralake dlq`)
//	key-value: entralake_offsets (how far each blob was published and committed,
//	and the id of the lake the state writes), entralake_tasks (finished tasks
//	until their rows are in the lake), entralake_files (which lake file holds
//	each batch: redelivered batches are not written twice), entralake_health
//	(each running process: ready, or what it cannot use; entries expire after
//	HealthTTL unless written again).
//
// Offsets.Update changes a blob's state with a compare-and-set on the key's
// revision, so that listers and writers settling offsets at the same time
// never undo each other's changes; Tasks.Settle moves committed offsets
// past the finished tasks whose batches are all in the lake. Reset deletes
// every stream and bucket (entralake run --reset-state).
//
// # Clusters
//
// Topology.Replicas gives every stream and bucket that many copies on the
// nodes of a JetStream cluster; Setup changes an existing deployment's
// count in place (JetStream moves the data in the background) and fails at
// once, with ErrNotClustered or ErrTooFewPeers, for a count the server
// cannot give. When a node dies, the streams, consumers and buckets it led
// elect new leaders (4-9 s measured on a loaded 2-core machine); the calls
// of the stages (set-up, publishes with their Nats-Msg-Id, acks, key-value
// reads and writes, consumer look-ups) are retried through that by Retry,
// each try bounded by AttemptTimeout and all of them by RetryFor, so that
// a cluster without quorum ends in an error rather than a silent wait.
// Compare-and-set writes are not retried blindly: after a timeout the
// write may have landed, so Offsets.Update reads the key again and decides
// afresh, as after a conflict. Status reports, for every stream and
// bucket, its replica count, its leader and whether every replica is
// current. StartServer runs a cluster node when ServerConfig has a cluster
// port and routes.
//
// # Holding messages
//
// A process keeps the messages it holds alive with in-progress acks, four
// per ack wait (InProgressEvery): Pool for a message its handler runs on,
// and the writer for the batches it buffers or is writing. In the fused
// topology (a process that parses and writes) Fused holds each task until
// its batches, handed to the writer in memory with a message from Fused
// that stands for each, are in the lake; the writer's in-progress acks of
// those batches keep the task alive. The ack waits
// are short (10s by default), so the messages of a process that dies go to
// another one 10s after its last in-progress ack. Pool asks for a message
// only when a handler is free to start it: a process holds nothing it is
// not working on, and a dead one holds only what it had started.
//
// # Errors
//
// Pool classifies a Handler's error by behaviour, never by type, so that it
// imports no stage: an error with Permanent() true is terminated and sent to
// the dead-letter stream at once; an error with Deferred() true means the
// handler kept the message and settles it later through the message's
// Settle, with the same accounting; any other error is retried with a
// growing delay until MaxDeliver, then dead-lettered. An error with
// Unusable() true (the lake or source cannot be used as configured) is
// retried like any other; IsUnusable lets a caller fail fast on it or
// report not-ready (WithReport sees every outcome).
//
// # Shutdown
//
// When Run's context ends the pool stops pulling; messages already pulled
// but not started are released (nak'ed without delay), running handlers
// get the drain timeout to finish, and a handler cut by it releases its
// message too. Nothing is left in flight for the consumer's AckWait.
package workers
