package rootfs

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzApplyLayer extracts arbitrary bytes as a layer and checks that nothing outside the layer
// directory appeared or changed, whether or not the layer was accepted, then applies it again
// flat (the vfs form) onto the tree the first pass left.
func FuzzApplyLayer(f *testing.F) {
	f.Add(richLayer(f))
	f.Add(gzipOf(f, richLayer(f)))
	f.Add(zstdOf(f, tarOf(f, dirE("a/", 0o755), fileE("a/b", "b", 0o644), symE("c", "a/b"), linkE("d", "a/b"))))
	f.Add(tarOf(f, fileE("etc/passwd", "x", 0o644), fileE("etc/.wh.passwd", "", 0o644), fileE("opt/.wh..wh..opq", "", 0o644)))
	f.Add(sparseTar(f, "sparse", 1<<20))
	for _, tc := range hostileCases {
		f.Add(tc.layer(f, "/sentinel"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		layer, sentinel := hostileSetup(t, parent)
		before := snapshot(t, sentinel)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ApplyLayer(ctx, layer, bytes.NewReader(data), ApplyOptions{}) // errors are fine
		// Again flat (vfs) on what the first pass left: whiteouts now delete.
		ApplyLayer(ctx, layer, bytes.NewReader(data), ApplyOptions{Flat: true})
		checkOutsideUntouched(t, parent, sentinel, before)
	})
}
