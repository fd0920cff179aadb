package image

import (
	"encoding/json"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WarmUp builds encoding/json's field tables for the index, manifest and
// config an image lookup decodes (built by reflection on first use in each
// process: ~0.4 ms of a run's lookup), so hako.Warm can do it on another
// goroutine before the lookup needs them. Only the first call does anything.
var WarmUp = sync.OnceFunc(func() {
	_, _ = json.Marshal(&v1.IndexManifest{})
	_, _ = json.Marshal(&v1.Manifest{})
	_, _ = json.Marshal(&v1.ConfigFile{})
})
