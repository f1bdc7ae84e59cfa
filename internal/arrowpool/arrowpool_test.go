package arrowpool

import (
	"testing"
	"unsafe"
)

func TestPool(t *testing.T) {
	p := New(1 << 20)
	a := p.Allocate(100)
	if len(a) != 100 || cap(a) != 128 {
		t.Fatalf("len %d cap %d, want 100 and 128", len(a), cap(a))
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(a)))%alignment != 0 {
		t.Error("buffer not 64-byte aligned")
	}
	for i := range a {
		a[i] = 0xff
	}
	p.Free(a)
	b := p.Allocate(120)
	if unsafe.SliceData(b) != unsafe.SliceData(a) {
		t.Fatal("a freed buffer of the same class was not reused")
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("reused buffer not zeroed at %d", i)
		}
	}
	b = b[:10]
	b[9] = 1
	b = p.Reallocate(100, b)
	if b[9] != 1 || b[50] != 0 {
		t.Error("Reallocate within the capacity must keep the data and zero what it adds")
	}
	c := p.Reallocate(1000, b)
	if c[9] != 1 || cap(c) != 1024 {
		t.Errorf("Reallocate beyond the capacity: data %d, cap %d", c[9], cap(c))
	}
	if d := p.Allocate(100); unsafe.SliceData(d) != unsafe.SliceData(b) {
		t.Error("the buffer Reallocate left was not reused")
	}
}

func TestPoolMax(t *testing.T) {
	p := New(1024)
	a, b := p.Allocate(1024), p.Allocate(1024)
	p.Free(a)
	p.Free(b) // beyond the maximum: dropped
	if p.held != 1024 {
		t.Fatalf("held %d bytes, want 1024", p.held)
	}
	p.Free(make([]byte, 100)) // not of a class: dropped
	if p.held != 1024 {
		t.Fatalf("held %d bytes after freeing a foreign buffer, want 1024", p.held)
	}
}
