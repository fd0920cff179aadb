package runtime

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hako-run/hako/internal/atomicfile"
)

// ImagesInUse returns the IDs ("sha256:…" of the image config) of the images
// the containers of root use, running or exited: an exited container's upper
// directory still sits on its image's layers. The image store must keep them.
func ImagesInUse(root string) (map[string]bool, error) {
	dir := containersDir(root)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	// Creators hold this lock from making a directory to writing its record:
	// list only under it, or a container being made is missed.
	unlock, err := atomicfile.Lock(filepath.Join(dir, ".lock"), false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	used := map[string]bool{}
	err = scanRecords(dir, failOnBadRecords, func(_ string, r *struct {
		ImageID string `json:"image_id"`
	}) {
		if r.ImageID != "" {
			used[r.ImageID] = true
		}
	})
	return used, err
}
