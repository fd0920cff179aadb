package rootfs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// The bytes and the hash are those of the reader underneath, whatever
// sizes it and the consumer read in.
func TestReadAheadBytesAndHash(t *testing.T) {
	data := make([]byte, 3*readAheadSize+12345)
	rand.NewChaCha8([32]byte{1}).Read(data)
	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(data),
		"one byte": iotest.OneByteReader(bytes.NewReader(data[:5000])),
		"half":     iotest.HalfReader(bytes.NewReader(data)),
		"empty":    bytes.NewReader(nil),
	} {
		want := data
		switch name {
		case "one byte":
			want = data[:5000]
		case "empty":
			want = nil
		}
		h := &hashWriter{h: sha256.New()}
		ra := newReadAhead(r, h)
		got, err := io.ReadAll(iotest.HalfReader(ra))
		ra.stop()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: read %d bytes, %v; want %d bytes", name, len(got), err, len(want))
		}
		if sum := sha256.Sum256(want); !bytes.Equal(h.h.Sum(nil), sum[:]) || h.n != int64(len(want)) {
			t.Errorf("%s: hash of %d bytes differs from the data's", name, h.n)
		}
	}
}

// A truncated stream's error arrives after the bytes before it, unchanged:
// io.ErrUnexpectedEOF must not become a clean end.
func TestReadAheadKeepsErrors(t *testing.T) {
	data := bytes.Repeat([]byte("x"), readAheadSize+10)
	for _, want := range []error{io.ErrUnexpectedEOF, errors.New("gzip: invalid checksum")} {
		ra := newReadAhead(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(want)), io.Discard)
		got, err := io.ReadAll(ra)
		ra.stop()
		if err != want || len(got) != len(data) {
			t.Errorf("read %d bytes, %v; want %d bytes, %v", len(got), err, len(data), want)
		}
	}
}

// A consumer that stops early (a refused entry) ends the producer.
func TestReadAheadStopEarly(t *testing.T) {
	ra := newReadAhead(iotest.OneByteReader(bytes.NewReader(make([]byte, 10*readAheadSize))), io.Discard)
	buf := make([]byte, 100)
	if _, err := ra.Read(buf); err != nil {
		t.Fatal(err)
	}
	ra.stop() // returns only once the producer has
}
