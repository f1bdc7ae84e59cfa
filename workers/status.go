package workers

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamStatus describes one stream.
type StreamStatus struct {
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// ConsumerStatus describes one durable consumer.
type ConsumerStatus struct {
	// Pending messages not yet delivered.
	Pending uint64 `json:"pending"`
	// InFlight messages delivered and not yet acked.
	InFlight int `json:"in_flight"`
	// Redelivered messages delivered more than once and not yet acked.
	Redelivered int `json:"redelivered"`
	// Waiting pull requests: roughly, idle workers.
	Waiting int `json:"waiting"`
}

// QueueStatus is the state of the deployment's streams and consumers.
type QueueStatus struct {
	Streams     map[string]StreamStatus   `json:"streams"`
	Consumers   map[string]ConsumerStatus `json:"consumers"`
	DeadLetters uint64                    `json:"dead_letters"`
	// Replicas is the cluster state of every stream and bucket, by
	// stream name (a bucket's stream is KV_<bucket>).
	Replicas map[string]ReplicaStatus `json:"replicas"`
}

// ReplicatedStreams are the streams whose replicas Status reports: the
// three streams, then the buckets' streams.
var ReplicatedStreams = []string{StreamTasks, StreamBatches, StreamDLQ,
	"KV_" + BucketOffsets, "KV_" + BucketTasks, "KV_" + BucketFiles, "KV_" + BucketHealth}

// Status reads the state of the streams and consumers.
func Status(ctx context.Context, js jetstream.JetStream) (*QueueStatus, error) {
	qs := &QueueStatus{Streams: map[string]StreamStatus{}, Consumers: map[string]ConsumerStatus{}, Replicas: map[string]ReplicaStatus{}}
	for _, name := range ReplicatedStreams {
		info, err := retry1(ctx, func(ctx context.Context) (*jetstream.StreamInfo, error) {
			st, err := js.Stream(ctx, name) // fresh info
			if err != nil {
				return nil, err
			}
			return st.CachedInfo(), nil
		})
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		qs.Replicas[name] = replicaStatus(info)
		switch name {
		case StreamTasks, StreamBatches, StreamDLQ:
			qs.Streams[name] = StreamStatus{Messages: info.State.Msgs, Bytes: info.State.Bytes}
		}
		if name == StreamDLQ {
			qs.DeadLetters = info.State.Msgs
		}
	}
	for _, c := range []struct{ stream, name string }{{StreamTasks, ConsumerParsers}, {StreamBatches, ConsumerWriters}} {
		cons, err := Consumer(ctx, js, c.stream, c.name)
		if err != nil {
			return nil, err
		}
		info, err := retry1(ctx, cons.Info)
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", c.name, err)
		}
		qs.Consumers[c.name] = ConsumerStatus{Pending: info.NumPending, InFlight: info.NumAckPending, Redelivered: info.NumRedelivered, Waiting: info.NumWaiting}
	}
	return qs, nil
}
