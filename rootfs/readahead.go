package rootfs

import (
	"io"
)

// readAhead runs a layer's decompressor, and the DiffID hash over what it
// yields, in a goroutine of its own, a few buffers ahead of the extraction
// that reads it: gunzip and SHA-256 on one CPU, tar parsing and the file
// writes on another. A pull has as many layers as it has, often fewer than
// twice the CPUs, and a lone layer would otherwise use one CPU (issue 13,
// BENCHMARKS.md "Pull: 3 large layers").
//
// The bytes, their order and every error are those of the reader
// underneath; the hash sees exactly the bytes Read returns, as long as the
// consumer reads to the end (ApplyLayer does; on error the hash is unused).
type readAhead struct {
	full   chan []byte   // filled buffers, in order; closed after err is set
	free   chan []byte   // buffers the producer may fill
	done   chan struct{} // closed by stop: the consumer is gone
	exited chan struct{} // closed when the producer has returned
	err    error         // the reader's error that ended the stream (io.EOF at the end)
	cur    []byte        // unread part of the buffer being consumed
	last   []byte        // the buffer being consumed, to give back
}

const (
	readAheadBufs = 4
	readAheadSize = 256 << 10
)

func newReadAhead(r io.Reader, hash io.Writer) *readAhead {
	ra := &readAhead{
		full:   make(chan []byte, readAheadBufs),
		free:   make(chan []byte, readAheadBufs),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range readAheadBufs {
		ra.free <- make([]byte, readAheadSize)
	}
	go ra.run(r, hash)
	return ra
}

func (ra *readAhead) run(r io.Reader, hash io.Writer) {
	defer close(ra.exited)
	defer close(ra.full)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		// Fill the buffer; keep the reader's own error (io.ReadFull would
		// turn a truncated stream's io.ErrUnexpectedEOF into io.EOF).
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
		}
		if n > 0 {
			hash.Write(buf[:n])
			ra.full <- buf[:n] // never blocks: full holds every buffer there is
		}
		if err != nil {
			ra.err = err
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.last != nil {
			ra.free <- ra.last[:cap(ra.last)] // never blocks, as above
			ra.last = nil
		}
		buf, ok := <-ra.full
		if !ok {
			return 0, ra.err
		}
		ra.cur, ra.last = buf, buf
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// stop ends the producer and waits for it, so that the decompressor and the
// reader under it are no longer in use when the caller closes them.
func (ra *readAhead) stop() {
	close(ra.done)
	<-ra.exited
}
