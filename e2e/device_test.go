package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRunDeviceDirectory passes a directory of devices, as a maker passes
// /dev/snd for a microphone: every device in it appears in the container and
// the device cgroup lets it be read; other devices stay denied.
func TestRunDeviceDirectory(t *testing.T) {
	s := runStore(t)
	snd := filepath.Join(t.TempDir(), "snd")
	if err := unix.Mkdir(snd, 0o755); err != nil {
		t.Fatal(err)
	}
	// Stand-ins with real device numbers: /dev/zero's (1:5) and /dev/null's (1:3).
	for name, dev := range map[string]uint64{"pcmC0D0c": unix.Mkdev(1, 5), "controlC0": unix.Mkdev(1, 3)} {
		if err := unix.Mknod(filepath.Join(snd, name), unix.S_IFCHR|0o660, int(dev)); err != nil {
			t.Fatal(err)
		}
	}
	out := s.mustRun(t, "--device", snd+":/dev/snd", busybox.ref, "sh", "-c",
		"ls /dev/snd; head -c 4 /dev/snd/pcmC0D0c | wc -c; stat -c %t:%T /dev/snd/pcmC0D0c")
	for _, want := range []string{"controlC0", "pcmC0D0c", "\n4\n", "1:5"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --device DIR:/dev/snd output %q lacks %q", out, want)
		}
	}
	// A device node the container makes itself is not allowed by the cgroup.
	_, _, code := s.run(t, busybox.ref, "sh", "-c", "mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem")
	if code == 0 {
		t.Errorf("reading a self-made /dev/mem node succeeded: the device cgroup lets it through")
	}
}
