package image

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hako-run/hako/rootfs"
)

// Inspect is an image as `docker image inspect` shows it.
type Inspect struct {
	Id           string    `json:"Id"` //nolint:revive // Docker's --format templates say {{.Id}}
	RepoTags     []string  `json:"RepoTags"`
	RepoDigests  []string  `json:"RepoDigests"`
	Parent       string    `json:"Parent"`
	Comment      string    `json:"Comment"`
	Created      time.Time `json:"Created"`
	Author       string    `json:"Author"`
	Config       v1.Config `json:"Config"`
	Architecture string    `json:"Architecture"`
	Variant      string    `json:"Variant,omitempty"`
	Os           string    `json:"Os"`
	Size         int64     `json:"Size"`
	RootFS       RootFS    `json:"RootFS"`
	Metadata     Metadata  `json:"Metadata"`
	// Layers are the extracted layer directories, bottom first: what the
	// overlay stacks (hako's addition, for learners).
	GraphDriver GraphDriver `json:"GraphDriver"`
}

// RootFS lists the image's layers by diff ID.
type RootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

// Metadata is Docker's image metadata.
type Metadata struct {
	LastTagTime time.Time `json:"LastTagTime"`
}

// GraphDriver tells where the image's layers are on disk.
type GraphDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

// Inspect returns the image in Docker's inspect shape, with names as
// Docker shows them.
func (img *Image) Inspect() Inspect {
	c := img.Config
	out := Inspect{
		Id:           img.ID.String(),
		RepoTags:     []string{},
		RepoDigests:  []string{},
		Comment:      "",
		Created:      c.Created.Time,
		Author:       c.Author,
		Config:       c.Config,
		Architecture: c.Architecture,
		Variant:      c.Variant,
		Os:           c.OS,
		Size:         img.Size,
		RootFS:       RootFS{Type: "layers", Layers: []string{}},
		GraphDriver:  GraphDriver{Name: img.store.driver, Data: map[string]string{}},
	}
	for _, t := range img.Tags() {
		if ref, err := ParseReference(t, img.store.Insecure...); err == nil {
			out.RepoTags = append(out.RepoTags, FamiliarName(ref))
		}
	}
	for _, rd := range img.RepoDigests {
		if ref, err := ParseReference(rd, img.store.Insecure...); err == nil {
			out.RepoDigests = append(out.RepoDigests, FamiliarName(ref))
		}
	}
	for _, h := range c.History {
		if h.Comment != "" {
			out.Comment = h.Comment
		}
	}
	for _, d := range c.RootFS.DiffIDs {
		out.RootFS.Layers = append(out.RootFS.Layers, d.String())
	}
	dirs := img.LayerDirs()
	if n := len(dirs); n > 0 && img.store.driver == rootfs.DriverVFS {
		out.GraphDriver.Data["Dir"] = dirs[n-1] // the full tree: nothing is stacked
	} else if n > 0 {
		lower := ""
		for i := n - 2; i >= 0; i-- {
			if lower != "" {
				lower += ":"
			}
			lower += dirs[i]
		}
		out.GraphDriver.Data["UpperDir"] = dirs[n-1]
		if lower != "" {
			out.GraphDriver.Data["LowerDir"] = lower
		}
	}
	return out
}
