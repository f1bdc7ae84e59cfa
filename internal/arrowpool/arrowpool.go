package arrowpool

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// minClass is the smallest size class: 64 bytes.
const minClass = 6

// alignment of every buffer, as memory.GoAllocator's.
const alignment = 64

// Pool is a pooling memory.Allocator, safe for concurrent use. A reused
// buffer is zeroed, as a fresh one is.
type Pool struct {
	max  int64
	mu   sync.Mutex
	free [64][][]byte
	held int64
}

var _ memory.Allocator = (*Pool)(nil)

// New returns a Pool that keeps at most maxBytes of free buffers; a
// buffer freed beyond that goes to the garbage collector.
func New(maxBytes int64) *Pool { return &Pool{max: maxBytes} }

// class returns the size class of a buffer of n bytes.
func class(n int) int {
	if n <= 1<<minClass {
		return minClass
	}
	return bits.Len(uint(n - 1))
}

// Allocate implements memory.Allocator: a buffer of size bytes whose
// capacity is its size class.
func (p *Pool) Allocate(size int) []byte {
	c := class(size)
	p.mu.Lock()
	if l := p.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		p.free[c] = l[:len(l)-1]
		p.held -= int64(cap(b))
		p.mu.Unlock()
		b = b[:size]
		clear(b)
		return b
	}
	p.mu.Unlock()
	n := 1 << c
	buf := make([]byte, n+alignment)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	shift := int((addr+alignment-1)&^(alignment-1) - addr)
	return buf[shift : shift+size : shift+n]
}

// Reallocate implements memory.Allocator.
func (p *Pool) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free implements memory.Allocator: b is kept for a later Allocate of its
// class, unless the pool holds its maximum. A buffer that is not of a
// size class (not allocated here) is left to the garbage collector.
func (p *Pool) Free(b []byte) {
	c := cap(b)
	if c < 1<<minClass || c&(c-1) != 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held+int64(c) > p.max {
		return
	}
	cl := bits.Len(uint(c)) - 1
	p.free[cl] = append(p.free[cl], b[:0])
	p.held += int64(c)
}
