package e2e

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeccompProgramCache: the compiled profile is kept in RUNROOT/seccomp
// and a later run loads it, with the same effect as a fresh compile; a
// damaged entry is compiled again, never loaded; another profile gets its
// own entry.
func TestSeccompProgramCache(t *testing.T) {
	s := runStore(t)
	// Docker's profile refuses new user namespaces without CAP_SYS_ADMIN;
	// creating one needs no capability, so only seccomp can refuse it.
	probe := []string{busybox.ref, "sh", "-c", "grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null && echo allowed || echo refused"}
	dir := filepath.Join(s.runroot, "seccomp")

	runProbe := func(want, wantState string, extra ...string) {
		t.Helper()
		out, errOut, code := s.run(t, append(append([]string{"--rm", "--debug"}, extra...), probe...)...)
		if code != 0 || strings.TrimSpace(out) != "Seccomp:\t2\n"+want {
			t.Fatalf("exit %d, stdout %q, want %q; stderr %s", code, out, want, errOut)
		}
		if !strings.Contains(errOut, "instructions, "+wantState) {
			t.Errorf("the seccomp program was not %s; stderr: %s", wantState, errOut)
		}
	}
	entries := func() []string {
		t.Helper()
		names, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		return names
	}

	runProbe("refused", "compiled")
	first := entries()
	if len(first) != 1 {
		t.Fatalf("cache entries after the first run: %q, want one", first)
	}
	runProbe("refused", "cached")

	// Flip a byte in the program: the checksum no longer matches, so the
	// entry is compiled again and rewritten, never loaded.
	data, err := os.ReadFile(first[0])
	if err != nil {
		t.Fatal(err)
	}
	damaged := append([]byte(nil), data...)
	damaged[len(damaged)-3] ^= 0xff
	if err := os.WriteFile(first[0], damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	runProbe("refused", "compiled")
	// Rewritten whole: its checksum (the first 32 bytes) matches again. The
	// program itself may differ in order (runc's -ENOSYS stub walks a map).
	again, err := os.ReadFile(first[0])
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(again[sha256.Size:]); len(again) != len(data) || !bytes.Equal(sum[:], again[:sha256.Size]) {
		t.Errorf("the damaged entry was not rewritten: %d bytes, was %d", len(again), len(data))
	}

	// CAP_SYS_ADMIN changes Docker's profile: a second entry, and the
	// syscall it allows goes through.
	runProbe("allowed", "compiled", "--cap-add", "SYS_ADMIN")
	runProbe("allowed", "cached", "--cap-add", "SYS_ADMIN")
	if got := entries(); len(got) != 2 {
		t.Errorf("cache entries after two profiles: %q, want two", got)
	}
	runProbe("refused", "cached")
}
