package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// smallfilesImage packs the Go toolchain tree (~15k files, mostly small
// sources) into three layers: src/, pkg/ + bin/, and everything else.
func smallfilesImage() imageSpec {
	return imageSpec{
		about:    "The Go toolchain tree at $(go env GOROOT) under usr/local/go in 3 gzip layers: src/; pkg/ and bin/; the rest",
		cacheKey: goVersion,
		layers: func() ([]layerSpec, error) {
			root, err := goRoot()
			if err != nil {
				return nil, err
			}
			top, err := os.ReadDir(root)
			if err != nil {
				return nil, fmt.Errorf("reading GOROOT: %w", err)
			}
			var rest []string
			for _, e := range top {
				if n := e.Name(); n != "src" && n != "pkg" && n != "bin" {
					rest = append(rest, n)
				}
			}
			return []layerSpec{
				treeLayer("goroot-src", root, []string{"src"}),
				treeLayer("goroot-pkg-bin", root, []string{"pkg", "bin"}),
				treeLayer("goroot-rest", root, rest),
			}, nil
		},
	}
}

func goRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// goVersion keys the cache on the toolchain the tree comes from.
func goVersion() (string, error) {
	root, err := goRoot()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return "", fmt.Errorf("reading GOROOT/VERSION: %w", err)
	}
	return "v1-" + strings.Fields(string(data))[0], nil
}

// treeLayer copies the named entries of root (recursively) below
// usr/local/go, keeping modes and symlinks, owned by root.
func treeLayer(name, root string, entries []string) layerSpec {
	return layerSpec{name: name, write: func(lw *layerWriter) error {
		for _, e := range entries {
			err := filepath.WalkDir(filepath.Join(root, e), func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, err := filepath.Rel(root, path)
				if err != nil {
					return err
				}
				return lw.copyEntry(path, filepath.Join("usr/local/go", rel), d)
			})
			if err != nil {
				return fmt.Errorf("packing %s: %w", e, err)
			}
		}
		return nil
	}}
}

func (lw *layerWriter) copyEntry(path, name string, d fs.DirEntry) error {
	if d.IsDir() {
		return lw.dir(name)
	}
	fi, err := d.Info()
	if err != nil {
		return err
	}
	if err := lw.dir(filepath.Dir(name)); err != nil {
		return err
	}
	var link string
	switch {
	case fi.Mode().IsRegular():
	case fi.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	default:
		return nil // no devices or sockets in a toolchain tree
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.ModTime = fi.ModTime().Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{} // no PAX records for them
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	lw.files++
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(lw.tw, f)
	return err
}
