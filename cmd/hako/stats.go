package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/runtime"
)

type statsOptions struct {
	all, noStream, noTrunc bool
	format                 string
}

// newStatsCommand is docker stats: CPU, memory, pids and block I/O from
// each container's cgroup, network I/O from its network namespace.
func newStatsCommand(g *globalOptions) *cobra.Command {
	var o statsOptions
	c := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStats(cmd, g, o, args)
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all containers (default shows just running)")
	f.BoolVar(&o.noStream, "no-stream", false, "disable streaming stats and only pull the first result")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "do not truncate output")
	f.StringVar(&o.format, "format", "", "format output with a Go template ('table …' for a table), or 'json'")
	return c
}

// statsRow is one line, with Docker's --format fields (and its JSON keys).
type statsRow struct {
	BlockIO   string
	CPUPerc   string
	Container string
	ID        string
	MemPerc   string
	MemUsage  string
	Name      string
	NetIO     string
	PIDs      string
}

// statsHeader is the table's header: each field's column title.
var statsHeader = statsRow{BlockIO: "BLOCK I/O", CPUPerc: "CPU %", Container: "CONTAINER", ID: "CONTAINER ID",
	MemPerc: "MEM %", MemUsage: "MEM USAGE / LIMIT", Name: "NAME", NetIO: "NET I/O", PIDs: "PIDS"}

const statsTable = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

// statsTarget is a container shown, and what it is called on the line.
type statsTarget struct {
	info *runtime.Info
	ref  string // as given on the command line, else its ID
}

// statsSample is one reading of a container's counters.
type statsSample struct {
	at                time.Time
	ok                bool // running, and its cgroup read
	cg                cgroups.Stats
	blkRead, blkWrite uint64
	netRx, netTx      uint64
}

func runStats(cmd *cobra.Command, g *globalOptions, o statsOptions, args []string) error {
	out := cmd.OutOrStdout()
	format := o.format
	if format == "" {
		format = statsTable
	}
	cg, err := detectCgroups()
	if err != nil {
		return err
	}
	targets := func() ([]statsTarget, error) {
		var ts []statsTarget
		if len(args) > 0 { // named: shown whatever their state, as Docker's
			for _, a := range args {
				info, err := findContainer(g, a)
				if err != nil {
					return nil, err
				}
				ts = append(ts, statsTarget{info, a})
			}
			return ts, nil
		}
		all, err := runtime.ListContainers(g.root)
		if err != nil {
			return nil, err
		}
		for _, info := range all {
			if o.all || info.State.Running {
				ts = append(ts, statsTarget{info, info.ID})
			}
		}
		return ts, nil
	}
	memTotal := hostMemTotal()
	clear := false
	if f, ok := out.(*os.File); ok && !o.noStream && term.IsTerminal(int(f.Fd())) {
		clear = true
	}
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(interrupted)

	ts, err := targets()
	if err != nil {
		return err
	}
	prev := map[string]statsSample{}
	for _, t := range ts {
		prev[t.info.ID] = readStats(cg, t.info)
	}
	for {
		// CPU % needs two readings: Docker's interval is a second.
		select {
		case <-time.After(time.Second):
		case <-interrupted:
			return nil
		}
		if !o.noStream { // started, ended or restarted meanwhile
			if fresh, err := targets(); err == nil {
				ts = fresh
			} else if len(args) == 0 {
				return err
			} // a named one removed meanwhile: its last line stays, zeros
		}
		rows := make([]statsRow, 0, len(ts))
		cur := map[string]statsSample{}
		for _, t := range ts {
			s := readStats(cg, t.info)
			cur[t.info.ID] = s
			rows = append(rows, statsLine(t, prev[t.info.ID], s, memTotal, o.noTrunc))
		}
		prev = cur
		if clear {
			io.WriteString(out, "\033[2J\033[H")
		}
		if err := printStats(out, format, rows); err != nil {
			return err
		}
		if o.noStream {
			return nil
		}
	}
}

// printStats prints one frame: a table with its header, or a template
// (or JSON) per line.
func printStats(out io.Writer, format string, rows []statsRow) error {
	body, isTable := strings.CutPrefix(format, "table")
	if !isTable {
		return printTemplate(out, format, rows)
	}
	body = strings.TrimSpace(body)
	if body == "" {
		body = strings.TrimPrefix(statsTable, "table ")
	}
	body = strings.ReplaceAll(body, `\t`, "\t")
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	if err := printTemplate(tw, body, append([]statsRow{statsHeader}, rows...)); err != nil {
		return err
	}
	return tw.Flush()
}

// readStats reads the counters of a running container; a stopped one (or
// one that ends while read) reads as not ok, all zero.
func readStats(cg *cgroups.Host, info *runtime.Info) statsSample {
	s := statsSample{at: time.Now()}
	if !info.State.Running {
		return s
	}
	var err error
	if s.cg, err = cg.Stats(info.ID); err != nil {
		return s
	}
	s.blkRead, s.blkWrite, _ = cg.BlockIO(info.ID)
	if ownNetns(info) && info.State.Pid > 0 {
		s.netRx, s.netTx = netCounters(info.State.Pid)
	}
	s.ok = true
	return s
}

// statsLine formats a container's line from two readings a second apart:
// CPU % is the CPU time used over the wall time (100% = one CPU busy, as
// Docker's), memory over its limit or else the host's memory.
func statsLine(t statsTarget, prev, cur statsSample, memTotal uint64, noTrunc bool) statsRow {
	id := t.info.ID
	if !noTrunc {
		id = id[:12]
	}
	ref := t.ref
	if ref == t.info.ID && !noTrunc {
		ref = id
	}
	r := statsRow{ID: id, Container: ref, Name: strings.TrimPrefix(t.info.Name, "/")}
	var cpu, memPerc float64
	limit := cur.cg.MemoryLimit
	if cur.ok {
		if limit == 0 || (memTotal > 0 && limit > memTotal) {
			limit = memTotal
		}
		if wall := cur.at.Sub(prev.at); prev.ok && wall > 0 && cur.cg.CPUUsage >= prev.cg.CPUUsage {
			cpu = float64(cur.cg.CPUUsage-prev.cg.CPUUsage) / float64(wall.Nanoseconds()) * 100
		}
		if limit > 0 {
			memPerc = float64(cur.cg.MemoryUsage) / float64(limit) * 100
		}
	}
	r.CPUPerc = fmt.Sprintf("%.2f%%", cpu)
	r.MemUsage = units.BytesSize(float64(cur.cg.MemoryUsage)) + " / " + units.BytesSize(float64(limit))
	r.MemPerc = fmt.Sprintf("%.2f%%", memPerc)
	r.NetIO = units.HumanSizeWithPrecision(float64(cur.netRx), 3) + " / " + units.HumanSizeWithPrecision(float64(cur.netTx), 3)
	r.BlockIO = units.HumanSizeWithPrecision(float64(cur.blkRead), 3) + " / " + units.HumanSizeWithPrecision(float64(cur.blkWrite), 3)
	r.PIDs = strconv.FormatUint(cur.cg.Pids, 10)
	return r
}

// ownNetns reports whether the container has a network namespace of its
// own: with --network host Docker counts no network I/O.
func ownNetns(info *runtime.Info) bool {
	if info.Spec == nil || info.Spec.Linux == nil {
		return false
	}
	for _, ns := range info.Spec.Linux.Namespaces {
		if ns.Type == "network" {
			return true
		}
	}
	return false
}

// netCounters sums the bytes received and sent by the interfaces of the
// network namespace of pid, loopback left out as Docker does.
func netCounters(pid int) (rx, tx uint64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue // the two header lines, and lo
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}

// hostMemTotal is the host's memory: the limit shown for a container
// without one.
func hostMemTotal() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
