// Package arrowpool is an Arrow memory.Allocator that keeps freed buffers
// in power-of-two size classes and hands them out again, instead of
// asking the Go heap for fresh memory (which the heap zeroes, and the
// kernel faults in) each time. It suits buffers whose whole life is
// inside one piece of code that frees each of them exactly once, such as
// the scratch buffers of an Arrow IPC encoder; a buffer freed twice, or
// used after it was freed, would be handed to two users at once, which
// memory.GoAllocator (whose Free does nothing) never does.
package arrowpool
