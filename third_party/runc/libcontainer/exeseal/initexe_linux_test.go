package exeseal

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// hako patch 20: with _HAKO_INIT_EXE set, CloneSelfExe seals the named
// binary instead of /proc/self/exe, the same way (a read-only overlayfs, or
// a sealed copy), and never the running binary.
func TestCloneSelfExeInitExe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (overlayfs)")
	}
	dir := t.TempDir()
	initExe := filepath.Join(dir, "bin", "hako-init")
	if err := os.MkdirAll(filepath.Dir(initExe), 0o755); err != nil {
		t.Fatal(err)
	}
	want := []byte("\x7fELF not really, but sealed all the same\n")
	if err := os.WriteFile(initExe, want, 0o755); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}

	t.Setenv("_HAKO_INIT_EXE", initExe)
	f, err := CloneSelfExe(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("sealed file holds %q, want %q (the named init binary)", got, want)
	}
	// Sealed: neither the handle nor a re-open for writing can change it.
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("wrote through the sealed handle")
	}
	if w, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), os.O_WRONLY, 0); err == nil {
		w.Close()
		t.Fatal("re-opened the sealed binary for writing")
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != int64(len(want)) {
		t.Fatalf("size %d, want %d", st.Size, len(want))
	}

	// Without the variable it is the running binary again.
	t.Setenv("_HAKO_INIT_EXE", "")
	g, err := CloneSelfExe(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &self); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(g.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != self.Size {
		t.Fatalf("without _HAKO_INIT_EXE: size %d, want the running binary's %d", st.Size, self.Size)
	}
}
