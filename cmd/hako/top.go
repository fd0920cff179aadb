package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// newTopCommand is docker top: the host's ps, run as Docker's daemon runs
// it, narrowed to the processes in the container's cgroup.
func newTopCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			psArgs := "-ef"
			if len(args) > 1 {
				psArgs = strings.Join(args[1:], " ")
			}
			if err := validatePSArgs(psArgs); err != nil {
				return err
			}
			info, err := findContainer(g, args[0])
			if err != nil {
				return err
			}
			if !info.State.Running || info.State.Restarting {
				return fmt.Errorf("container %s is not running", info.ID)
			}
			cg, err := detectCgroups()
			if err != nil {
				return err
			}
			pids, err := cg.Pids(info.ID)
			if err != nil {
				return fmt.Errorf("container %s is not running: %w", info.ID, err)
			}
			titles, procs, err := topProcesses(strings.Fields(psArgs), pids)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 20, 1, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(titles, "\t"))
			for _, p := range procs {
				fmt.Fprintln(w, strings.Join(p, "\t"))
			}
			return w.Flush()
		},
	}
	c.Flags().SetInterspersed(false) // what follows the container is ps's
	return c
}

// psPidRe finds a renamed PID column ("-o user=PID"), which would fool
// the parsing: Docker refuses any such name but pid. Compiled on first use.
var psPidRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\s+([^\s]*)=\s*(PID[^\s]*)`) })

func validatePSArgs(psArgs string) error {
	for _, g := range psPidRe().FindAllStringSubmatch(psArgs, -1) {
		if g[1] != "pid" {
			return fmt.Errorf("specifying \"%s=%s\" is not allowed", g[1], g[2])
		}
	}
	return nil
}

// topProcesses runs ps with args, first limited to pids by -q (quick) and,
// when the options refuse -q (f, for one), over every process; it keeps
// the lines of pids, and thread lines ("-" as PID, with m) after them.
func topProcesses(args []string, pids []int) (titles []string, procs [][]string, err error) {
	q := make([]string, len(pids))
	for i, p := range pids {
		q[i] = strconv.Itoa(p)
	}
	out, err := exec.Command("ps", append(slices.Clone(args), "-q"+strings.Join(q, ","))...).Output()
	if err != nil {
		out, err = exec.Command("ps", args...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if line, _, _ := bytes.Cut(ee.Stderr, []byte("\n")); len(line) > 0 {
					err = errors.New(string(line))
				}
			}
			return nil, nil, fmt.Errorf("ps: %w", err)
		}
	}
	lines := strings.Split(string(out), "\n")
	titles = strings.Fields(lines[0])
	pidCol := slices.Index(titles, "PID")
	if pidCol < 0 {
		return nil, nil, errors.New("Couldn't find PID field in ps output")
	}
	add := func(f []string) {
		if len(f) >= len(titles) { // the last column (the command) may hold spaces
			f = append(f[:len(titles)-1:len(titles)-1], strings.Join(f[len(titles)-1:], " "))
		}
		procs = append(procs, f)
	}
	inContainer := false
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) <= pidCol {
			continue
		}
		if f[pidCol] == "-" {
			if inContainer {
				add(f)
			}
			continue
		}
		p, err := strconv.Atoi(f[pidCol])
		if err != nil {
			return nil, nil, fmt.Errorf("Unexpected pid '%s': %w", f[pidCol], err)
		}
		if inContainer = slices.Contains(pids, p); inContainer {
			add(f)
		}
	}
	return titles, procs, nil
}
