package testimage

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// GoProgram compiles source (a complete main package using only the standard
// library) into a static binary (CGO_ENABLED=0) for base's platform, and
// returns base with one more layer holding it at dst (mode 0755, parent
// directories 0755 root-owned). It needs the go toolchain.
func GoProgram(base v1.Image, dst string, source string) (v1.Image, error) {
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading base config: %w", err)
	}
	bin, err := buildGo(source, cf.OS, cf.Architecture, cf.Variant)
	if err != nil {
		return nil, err
	}
	dst = strings.TrimPrefix(path.Clean("/"+dst), "/")
	files := map[string]File{dst: {Mode: 0o755, Content: bin}}
	for dir := path.Dir(dst); dir != "."; dir = path.Dir(dir) {
		files[dir] = File{Mode: os.ModeDir | 0o755}
	}
	tb, err := LayerTar(files)
	if err != nil {
		return nil, err
	}
	return withTarLayer(base, tb, "testimage.GoProgram /"+dst)
}

// buildGo runs `go build` on source in a throwaway module.
func buildGo(source, goos, goarch, variant string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "testimage-go-")
	if err != nil {
		return nil, fmt.Errorf("creating build dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module testhelper\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, fmt.Errorf("writing go.mod: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(source), 0o644); err != nil {
		return nil, fmt.Errorf("writing main.go: %w", err)
	}
	out := filepath.Join(dir, "prog")
	cmd := exec.Command(goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch,
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	if goarch == "arm" && variant != "" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(variant, "v"))
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building Go program: %w: %s", err, strings.TrimSpace(string(msg)))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("reading built program: %w", err)
	}
	return bin, nil
}

// goTool finds the go command: PATH first, then the toolchain that built us.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
