package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// printHeader prints the machine and tool versions the numbers belong to.
func printHeader(env *benchEnv, mode string) {
	fmt.Printf("### %s benchmark, %s\n\n", mode, time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("- machine: %s, %d cores, %s RAM, kernel %s, Debian %s, temp dirs on %s (%s)\n",
		cpuModel(), runtime.NumCPU(), memTotal(), kernel(), firstLine(readFile("/etc/debian_version")), os.TempDir(), fsType(env.tmp))
	fmt.Printf("- load average at start (other work on the machine skews results): %s\n", env.loadAtStart)
	fmt.Printf("- tools: %s\n", strings.Join(toolVersions(env), ", "))
	fmt.Printf("- registry: Debian docker-registry on 127.0.0.1 (plain HTTP, loopback)\n")
	fmt.Printf("- page cache: not dropped; blobs and registry data are warm, `sync` runs (untimed) before each measurement, no tool's own fsyncs are disabled\n\n")
}

// printPullTable prints one image's pull results.
func printPullTable(img *benchImage, res []*result, rounds int) {
	mb := float64(img.stats.Compressed) / 1e6
	fmt.Printf("#### %s: %.0f MB compressed, %.0f MB uncompressed, %d files, %d layers\n\n",
		img.name, mb, float64(img.stats.Uncompressed)/1e6, img.stats.Files, img.layers)
	fmt.Printf("%s.\n\n", img.about)
	fmt.Printf("Median of %d rounds, each into an empty store. Ratio = time / peer's time (below 1.00 is faster).\n\n", rounds)
	fmt.Println("| tool | median s | MB/s (compressed) | vs podman | vs skopeo+umoci | vs gzip\\|tar floor | min–max s |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	peer := func(name string) *result {
		for _, r := range res {
			if strings.HasPrefix(r.name, name) && r.err == nil {
				return r
			}
		}
		return nil
	}
	for _, r := range res {
		if r.err != nil {
			fmt.Printf("| %s | failed: %s | | | | | |\n", mdEscape(r.name), mdEscape(r.err.Error()))
			continue
		}
		m := r.median().Seconds()
		lo, hi := r.spread()
		fmt.Printf("| %s | %.2f | %.0f | %s | %s | %s | %.2f–%.2f |\n", mdEscape(r.name), m, mb/m,
			ratio(r, peer("podman")), ratio(r, peer("skopeo")), ratio(r, peer("floor")), lo.Seconds(), hi.Seconds())
	}
	fmt.Println()
	for _, r := range res {
		if r.note != "" {
			fmt.Printf("- %s\n", r.note)
		}
	}
	fmt.Println()
}

func ratio(r, peer *result) string {
	if peer == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", r.median().Seconds()/peer.median().Seconds())
}

// mdEscape keeps an error message inside one table cell.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}

func toolVersions(env *benchEnv) []string {
	out := []string{firstLine(cmdOutput(env.opts.hako, "version"))}
	for _, t := range [][]string{
		{"podman", "--version"}, {"skopeo", "--version"}, {"umoci", "--version"},
		{"runc", "--version"}, {"crun", "--version"}, {"gzip", "--version"}, {"tar", "--version"},
	} {
		out = append(out, firstLine(cmdOutput(t[0], t[1:]...)))
	}
	return out
}

func cmdOutput(name string, args ...string) string {
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "(unavailable)"
	}
	return string(b)
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(l)
}

func cpuModel() string {
	sc := bufio.NewScanner(strings.NewReader(readFile("/proc/cpuinfo")))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f GiB", float64(si.Totalram)*float64(si.Unit)/(1<<30))
}

func kernel() string {
	return firstLine(readFile("/proc/sys/kernel/osrelease"))
}

// fsType names the filesystem the stores are written to.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return "?"
	}
	switch uint32(st.Type) {
	case 0xef53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683e:
		return "btrfs"
	case 0x01021994:
		return "tmpfs"
	}
	return fmt.Sprintf("fs 0x%x", st.Type)
}

func loadAvg() string {
	f := strings.Fields(readFile("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
