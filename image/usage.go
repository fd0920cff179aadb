package image

// LayerSizes returns the unpacked size of each of the image's layers,
// bottom first, keyed by chain ID (a layer shared by images has one chain
// ID): what `system df` adds up, each shared layer once. An unknown size
// is 0.
func (img *Image) LayerSizes() map[string]int64 {
	sizes := map[string]int64{}
	for _, c := range img.ChainIDs() {
		n := img.store.layerSize(c)
		if n < 0 {
			n = 0
		}
		sizes[c.Hex] = n
	}
	return sizes
}
