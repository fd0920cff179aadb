package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// newPortCommand is docker port: the published ports of a running
// container, all of them or those of one container port.
func newPortCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := findContainer(g, args[0])
			if err != nil {
				return err
			}
			if !c.State.Running {
				return fmt.Errorf("container %s is not running", args[0])
			}
			var want uint16
			wantProto := "tcp"
			if len(args) == 2 {
				port, proto, _ := strings.Cut(args[1], "/")
				n, err := strconv.ParseUint(port, 10, 16)
				if err != nil || n == 0 {
					return fmt.Errorf("invalid port %q: want PORT or PORT/PROTO, e.g. 8888/tcp", args[1])
				}
				want = uint16(n)
				if proto != "" {
					wantProto = proto
				}
			}
			out := cmd.OutOrStdout()
			found := false
			for _, p := range c.Ports() {
				host := p.Host()
				switch {
				case want == 0:
					fmt.Fprintf(out, "%d/%s -> %s\n", p.ContainerPort, p.Proto, host)
				case p.ContainerPort == want && p.Proto == wantProto:
					fmt.Fprintln(out, host)
					found = true
				}
			}
			if want != 0 && !found {
				return fmt.Errorf("no public port '%d/%s' published for %s", want, wantProto, args[0])
			}
			return nil
		},
	}
}
