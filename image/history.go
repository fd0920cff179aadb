package image

import "time"

// HistoryEntry is one step of an image's history, newest first, with the
// size of the layer it made (0 for a step that made none).
type HistoryEntry struct {
	Created    time.Time
	CreatedBy  string
	Comment    string
	Size       int64
	EmptyLayer bool
}

// History lists the image's history, newest first, each step with its
// layer's unpacked size. An image without history gets one step per layer.
func (img *Image) History() []HistoryEntry {
	chain := img.ChainIDs()
	layerSize := func(i int) int64 {
		if i >= len(chain) {
			return 0
		}
		if n := img.store.layerSize(chain[i]); n >= 0 {
			return n
		}
		if i < len(img.man.Layers) {
			return img.man.Layers[i].Size // not extracted: the compressed size
		}
		return 0
	}
	var out []HistoryEntry
	hist := img.Config.History
	if len(hist) == 0 {
		for i := range chain {
			out = append(out, HistoryEntry{Created: img.Config.Created.Time, Size: layerSize(i)})
		}
	}
	layer := 0
	for _, h := range hist {
		e := HistoryEntry{Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if !h.EmptyLayer {
			e.Size = layerSize(layer)
			layer++
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
