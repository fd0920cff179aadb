package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLinkerRemovesUnusedMethods links hako as make build does and fails
// when a function that looks methods up by name at run time
// (reflect.Value.MethodByName, reflect.Type.Method with a variable: the
// linker marks it <ReflectMethod>) is reachable. One such function makes
// the linker keep every exported method of every type that can reach an
// interface: 4 MB more binary (text/template's method calls, reached
// through cobra's version template, hako's --format and the AppArmor
// profile; internal/gotemplate is the copy without them).
func TestLinkerRemovesUnusedMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("links the whole binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out := filepath.Join(t.TempDir(), "hako")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", makeTags(t),
		"-ldflags", "-linkmode external -extldflags -static -dumpdep", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var found []string
	linked := map[string]bool{}
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// "caller <ReflectMethod> -> callee": the caller makes dynamic method calls.
		from, to, ok := strings.Cut(sc.Text(), " -> ")
		for _, u := range unwanted {
			if ok && strings.HasPrefix(to, u.prefix) {
				linked[u.prefix] = true
			}
		}
		if ok && strings.HasSuffix(from, "<ReflectMethod>") {
			if len(found) == 0 || found[len(found)-1] != from {
				found = append(found, from)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	if len(found) > 0 {
		t.Errorf("reachable functions that call methods by name (the linker then keeps all exported methods; use internal/gotemplate instead of text/template):\n%s\nfind who reaches them in the output of go build -ldflags=-dumpdep",
			strings.Join(found, "\n"))
	}
	for _, u := range unwanted {
		if linked[u.prefix] {
			t.Errorf("%s is linked: %s", u.prefix, u.why)
		}
	}
}

// unwanted are functions a size cut took out of the binary (BENCHMARKS.md,
// "Binary size"); one linked again means the cut came undone.
var unwanted = []struct{ prefix, why string }{
	{"net/http.(*http2Framer)", "net/http's bundled HTTP/2 (~0.35 MB): the Makefile's TAGS lack nethttpomithttp2?"},
	{"debug/elf.NewFile", "debug/elf's parser with debug/dwarf and internal/zstd (~0.15 MB): was third_party/cilium-ebpf's KernelVersion patch lost, or does something else read ELF files?"},
}

// makeTags returns the build tags of the Makefile's TAGS line, so this test
// links hako exactly as make build does.
func makeTags(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":="); ok && strings.TrimSpace(k) == "TAGS" {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no TAGS := line in the Makefile")
	return ""
}

// TestUnwantedPackagesNotImported fails when a package a start-cost cut
// took out of hako's import graph is imported again. Importing is enough to
// cost: every imported package's init runs in every hako process (each CLI
// call, each monitor, each container's init), used or not, and touches a
// page of its code (BENCHMARKS.md, "Process start (h3), PVM host").
func TestUnwantedPackagesNotImported(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command("go", "list", "-deps", "-tags", makeTags(t), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		deps[strings.TrimSpace(line)] = true
	}
	for _, u := range unwantedPackages {
		if deps[u.path] {
			t.Errorf("%s is imported (find by whom: go list -deps -f '{{.ImportPath}} {{.Imports}}'): %s", u.path, u.why)
		}
	}
}

// unwantedPackages are packages no hako process needs at start.
var unwantedPackages = []struct{ path, why string }{
	{"debug/elf", "debug/elf, debug/dwarf and internal/zstd: third_party/cilium-ebpf's patch lost, or runtime/buildid.go imports it again?"},
	{"go/token", "go/format, go/parser, go/printer, go/scanner: third_party/cilium-ebpf's patch lost (internal/output.go)?"},
	{"log/slog", "log/slog and logrus's slog hook, through containerd/log: third_party/platforms' patch lost?"},
	{"text/template", "text/template, through cobra's custom templates: third_party/cobra's patch lost? hako's templates use internal/gotemplate"},
	{"flag", "the standard flag package, through pflag's Go flag bridge: third_party/pflag's patch lost?"},
}
