package rootfs

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// smallFilesLayer is a synthetic layer like a distribution's /usr: 100 directories of 50
// files of 1–8 KiB, a symlink per directory.
func smallFilesLayer(b *testing.B) ([]byte, int) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 8<<10)
	for i := range data {
		data[i] = byte(rng.IntN(64) + 32)
	}
	var e []ent
	for d := range 100 {
		dir := fmt.Sprintf("usr/share/pkg%03d/", d)
		e = append(e, dirE(dir, 0o755), symE(dir+"link", "f000"))
		for f := range 50 {
			e = append(e, fileE(fmt.Sprintf("%sf%03d", dir, f), string(data[:1024+rng.IntN(7<<10)]), 0o644))
		}
	}
	return tarOf(b, e...), len(e)
}

func BenchmarkApplyLayer(b *testing.B) {
	for _, compress := range []string{"tar", "gzip"} {
		b.Run(compress, func(b *testing.B) {
			layer, entries := smallFilesLayer(b)
			size := len(layer)
			if compress == "gzip" {
				layer = gzipOf(b, layer)
			}
			b.SetBytes(int64(size)) // uncompressed bytes per second
			// Trees are kept until the end: creating files right after deleting as many makes
			// ext4 scan its recently deleted inodes, which would dominate the numbers.
			base := b.TempDir()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				dir := filepath.Join(base, fmt.Sprint(i))
				b.StopTimer()
				if err := os.Mkdir(dir, 0o755); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := ApplyLayer(context.Background(), dir, bytes.NewReader(layer), ApplyOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
