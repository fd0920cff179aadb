package testimage

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BusyboxPath is the static busybox of Debian's busybox-static package.
const BusyboxPath = "/bin/busybox"

// DefaultPath is the PATH set in the images' config, as Docker's images set it.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const passwd = `root:x:0:0:root:/root:/bin/sh
hako:x:1000:1000:hako:/home/hako:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`

const group = `root:x:0:
audio:x:29:hako
hako:x:1000:
nogroup:x:65534:
`

// busybox is built once per test binary: images are immutable, so sharing is safe.
var busybox = sync.OnceValues(buildBusybox)

// Busybox returns a runnable linux image of the host's architecture: the static
// busybox at /bin/busybox with an absolute symlink for every applet it lists,
// /etc/passwd and /etc/group (root, nobody 65534, and hako 1000:1000 with the
// supplementary group audio 29), /tmp 1777, /root, and /home/hako owned by 1000.
// Its config has PATH, Cmd ["sh"], the host platform and a fixed creation
// time, so its digest only changes when the host's busybox does.
func Busybox() (v1.Image, error) {
	return busybox()
}

func buildBusybox() (v1.Image, error) {
	files, err := busyboxFiles()
	if err != nil {
		return nil, err
	}
	base, err := Base(HostPlatform())
	if err != nil {
		return nil, err
	}
	img, err := WithLayer(base, files)
	if err != nil {
		return nil, err
	}
	return setConfig(img, func(cf *v1.ConfigFile) {
		cf.Config.Env = []string{DefaultPath}
		cf.Config.Cmd = []string{"sh"}
	})
}

// busyboxFiles is the busybox root filesystem as a file map.
func busyboxFiles() (map[string]File, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("reading busybox (install busybox-static): %w", err)
	}
	out, err := exec.Command(BusyboxPath, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets: %w", err)
	}
	dir := File{Mode: os.ModeDir | 0o755}
	files := map[string]File{
		"bin": dir, "sbin": dir, "usr": dir, "usr/bin": dir, "usr/sbin": dir,
		"etc": dir, "home": dir, "dev": dir, "proc": dir, "sys": dir, "var": dir,
		"bin/busybox": {Mode: 0o755, Content: bin},
		"etc/passwd":  {Mode: 0o644, Content: []byte(passwd)},
		"etc/group":   {Mode: 0o644, Content: []byte(group)},
		"tmp":         {Mode: os.ModeDir | os.ModeSticky | 0o777},
		"root":        {Mode: os.ModeDir | 0o700},
		"home/hako":   {Mode: os.ModeDir | 0o755, Uid: 1000, Gid: 1000},
	}
	for _, applet := range strings.Fields(string(out)) {
		applet = strings.TrimPrefix(applet, "/")
		if _, ok := files[applet]; ok {
			continue
		}
		files[applet] = File{Mode: os.ModeSymlink | 0o777, Linkname: "/bin/busybox"}
	}
	return files, nil
}

// HostPlatform is the linux platform of the running test binary.
func HostPlatform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	switch runtime.GOARCH {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v7"
	}
	return p
}

// Base returns an empty OCI image (no layers) whose config names platform p
// and carries a fixed creation time.
func Base(p v1.Platform) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return setConfig(img, func(cf *v1.ConfigFile) {
		cf.OS = p.OS
		cf.Architecture = p.Architecture
		cf.Variant = p.Variant
	})
}

// setConfig edits a copy of img's config file and fixes its creation time.
func setConfig(img v1.Image, edit func(*v1.ConfigFile)) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	cf.Created = v1.Time{Time: Epoch}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting config: %w", err)
	}
	return img, nil
}

// fileContent is a tiny helper for distinct one-file layers.
func fileContent(s string) File {
	return File{Mode: 0o644, Content: bytes.Clone([]byte(s))}
}
