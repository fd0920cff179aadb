package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"
)

// epoch is the mtime of every generated entry, so layers are reproducible.
var epoch = time.Unix(1700000000, 0)

// mixedVersion is part of the cache key: bump it when the generator changes.
const mixedVersion = "v3"

const (
	kib = 1 << 10
	mib = 1 << 20
)

// mixedImage is ~250 MB compressed in five layers: incompressible files of
// small, medium and large sizes, and source-like and log-like text that gzip
// shrinks about 3.2x. Everything comes from fixed seeds.
func mixedImage() imageSpec {
	return imageSpec{
		about:    "5 gzip layers: random bytes in small (1-16 KiB), medium (16 KiB-1 MiB) and large (256 KiB-16 MiB) files, plus source-like and log-like text (~3.2x compressible); fixed seeds",
		cacheKey: func() (string, error) { return mixedVersion, nil },
		layers: func() ([]layerSpec, error) {
			return []layerSpec{
				randomLayer("random-small", 1, "opt/small", 40*mib, 1*kib, 16*kib),
				textLayer("source", 2, "usr/src/app", 170*mib, 2*kib, 64*kib, sourceLine),
				randomLayer("random-large", 3, "opt/large", 60*mib, 256*kib, 16*mib),
				textLayer("logs", 4, "var/log/app", 170*mib, 1*mib, 8*mib, logLine),
				randomLayer("random-medium", 5, "opt/medium", 40*mib, 16*kib, 1*mib),
			}, nil
		},
	}
}

// filePath spreads files over two directory levels, 20 files per directory.
func filePath(base string, i int, ext string) string {
	return fmt.Sprintf("%s/d%03d/e%02d/f%06d%s", base, i/400, (i/20)%20, i, ext)
}

// randomLayer fills total bytes of files whose sizes are uniform in [lo, hi).
func randomLayer(name string, seed uint64, base string, total, lo, hi int) layerSpec {
	return layerSpec{name: name, write: func(lw *layerWriter) error {
		rng := rand.New(rand.NewPCG(seed, 0x6861686b6f))
		src := rand.NewChaCha8([32]byte{byte(seed)})
		buf := make([]byte, hi)
		for i, left := 0, total; left > 0; i++ {
			size := min(lo+rng.IntN(hi-lo), left)
			src.Read(buf[:size])
			if err := lw.file(filePath(base, i, ".bin"), 0o644, buf[:size]); err != nil {
				return err
			}
			left -= size
		}
		return nil
	}}
}

// textLayer fills total bytes of files of generated lines. Each run of 500
// lines draws from a window of 220 pooled lines: that much repetition within
// gzip's 32 KiB window is what makes the text compress about 3.2x.
func textLayer(name string, seed uint64, base string, total, lo, hi int, line func(*rand.Rand, *bytes.Buffer, string)) layerSpec {
	const window, run = 220, 500
	return layerSpec{name: name, write: func(lw *layerWriter) error {
		rng := rand.New(rand.NewPCG(seed, 0x6861686b6f))
		var buf bytes.Buffer
		for i, left := 0, total; left > 0; i++ {
			size := min(lo+rng.IntN(hi-lo), left)
			buf.Reset()
			for buf.Len() < size {
				from := rng.IntN(len(linePool) - window)
				for k := 0; k < run && buf.Len() < size; k++ {
					line(rng, &buf, linePool[from+rng.IntN(window)])
				}
			}
			if err := lw.file(filePath(base, i, ".txt"), 0o644, buf.Bytes()[:size]); err != nil {
				return err
			}
			left -= size
		}
		return nil
	}}
}

// linePool is a fixed set of made-up lines of identifiers and keywords.
var linePool = func() []string {
	rng := rand.New(rand.NewPCG(42, 42))
	words := make([]string, 6000)
	for i := range words {
		b := make([]byte, 3+rng.IntN(9))
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		words[i] = string(b)
	}
	keywords := []string{"func", "return", "if", "for", "var", "err", "nil", ":=", "=", "{", "}", "(", ")", ",", "+", "!="}
	lines := make([]string, 50000)
	for i := range lines {
		var b bytes.Buffer
		for j, n := 0, 2+rng.IntN(9); j < n; j++ {
			if j > 0 {
				b.WriteByte(' ')
			}
			if rng.IntN(3) == 0 {
				b.WriteString(keywords[rng.IntN(len(keywords))])
			} else {
				b.WriteString(words[rng.IntN(len(words))])
			}
		}
		lines[i] = b.String()
	}
	return lines
}()

// sourceLine writes one line that looks like program source.
func sourceLine(rng *rand.Rand, buf *bytes.Buffer, text string) {
	for range rng.IntN(4) {
		buf.WriteByte('\t')
	}
	fmt.Fprintf(buf, "%s %d\n", text, rng.IntN(1000))
}

// logLine writes one line that looks like an application log entry.
func logLine(rng *rand.Rand, buf *bytes.Buffer, text string) {
	levels := []string{"INFO", "WARN", "DEBUG", "ERROR"}
	fmt.Fprintf(buf, "2026-11-28 %02d:%02d:%02d.%03d %s %s id=%d\n", rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1000),
		levels[rng.IntN(len(levels))], text, rng.IntN(100000))
}
