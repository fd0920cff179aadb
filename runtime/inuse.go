package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	used := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue // temporary entries are containers being deleted
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), recordFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue // left by a create cut short
		}
		if err != nil {
			return nil, fmt.Errorf("reading container record: %w", err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("reading record of container %s: %w", e.Name(), err)
		}
		if r.ImageID != "" {
			used[r.ImageID] = true
		}
	}
	return used, nil
}
