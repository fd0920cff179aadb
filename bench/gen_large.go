package main

// largeVersion is part of the cache key: bump it when the generator changes.
const largeVersion = "v1"

// The "large" image is registered here so that the shape stays in one file.
func init() {
	imageSpecs["large"] = largeImage()
	imageOrder = append(imageOrder, "large")
}

// largeImage is the shape of issue 13: 3 gzip layers of ~70 MB each, every
// layer mixed (random files of medium and large sizes, and source-like and
// log-like text). Few layers on 2 CPUs show whether download, digest,
// gunzip and writes overlap: one layer per CPU leaves the third waiting.
func largeImage() imageSpec {
	return imageSpec{
		about:    "3 gzip layers of ~70 MB, each mixed: random bytes in medium (16 KiB-1 MiB) and large (256 KiB-16 MiB) files, source-like and log-like text (~3.2x compressible); fixed seeds",
		cacheKey: func() (string, error) { return largeVersion, nil },
		layers: func() ([]layerSpec, error) {
			var layers []layerSpec
			for i, name := range []string{"large-a", "large-b", "large-c"} {
				seed := uint64(100 + 10*i)
				base := "srv/" + name
				layers = append(layers, mixedLayer(name,
					randomLayer(name, seed, base+"/medium", 20*mib, 16*kib, 1*mib),
					randomLayer(name, seed+1, base+"/large", 26*mib, 256*kib, 16*mib),
					textLayer(name, seed+2, base+"/src", 40*mib, 2*kib, 64*kib, sourceLine),
					textLayer(name, seed+3, base+"/log", 42*mib, 1*mib, 8*mib, logLine),
				))
			}
			return layers, nil
		},
	}
}

// mixedLayer writes the entries of several generators into one layer.
func mixedLayer(name string, parts ...layerSpec) layerSpec {
	return layerSpec{name: name, write: func(lw *layerWriter) error {
		for _, p := range parts {
			if err := p.write(lw); err != nil {
				return err
			}
		}
		return nil
	}}
}
