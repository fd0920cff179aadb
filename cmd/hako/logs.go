package main

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/hako-run/hako/runtime"
)

type logsOptions struct {
	follow, timestamps bool
	tail, since, until string
}

func newLogsCommand(g *globalOptions) *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lo, err := o.parse(time.Now())
			if err != nil {
				return err
			}
			info, err := findContainer(g, args[0])
			if err != nil {
				return err
			}
			return runtime.ReadLogs(info, lo, cmd.OutOrStdout(), cmd.ErrOrStderr(), info.Ended)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "follow log output until the container ends")
	f.BoolVarP(&o.timestamps, "timestamps", "t", false, "show timestamps")
	f.StringVarP(&o.tail, "tail", "n", "all", "number of lines to show from the end of the logs")
	f.StringVar(&o.since, "since", "", "show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)")
	f.StringVar(&o.until, "until", "", "show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m)")
	return cmd
}

func (o logsOptions) parse(now time.Time) (runtime.LogOptions, error) {
	lo := runtime.LogOptions{Follow: o.follow, Timestamps: o.timestamps, Tail: -1}
	if o.tail != "all" {
		n, err := strconv.Atoi(o.tail)
		if err != nil {
			return lo, usageError("invalid --tail %q: want a number of lines or all", o.tail)
		}
		lo.Tail = n // negative: all, as Docker
	}
	var err error
	if o.since != "" {
		if lo.Since, err = runtime.ParseLogTime(o.since, now); err != nil {
			return lo, usageError("invalid --since: %v", err)
		}
	}
	if o.until != "" {
		if lo.Until, err = runtime.ParseLogTime(o.until, now); err != nil {
			return lo, usageError("invalid --until: %v", err)
		}
	}
	return lo, nil
}
