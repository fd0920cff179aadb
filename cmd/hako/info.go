package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/hako-run/hako/hostinfo"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/network"
)

func newInfoCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Show what hako sees of this host (paste it into a bug report)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := hostinfo.Gather(g.root, g.runroot, Version, commit)
			if err != nil {
				return err
			}
			// The driver the root uses, or would choose: info writes nothing.
			cfg, err := image.LoadConfig(network.ConfigPath())
			if err != nil {
				return err
			}
			want, err := storageDriver(g, cfg)
			if err != nil {
				return err
			}
			if in.Driver, err = image.DriverFor(g.root, want, in.OverlaySupported); err != nil {
				return err
			}
			in.Warnings = append(in.Warnings, network.ForwardWarnings()...)
			if format != "" {
				return printTemplate(cmd.OutOrStdout(), format, []*hostinfo.Info{in})
			}
			printInfo(cmd.OutOrStdout(), in)
			fmt.Fprintf(cmd.OutOrStdout(), "Network Firewall: %s\n", network.FirewallName())
			for _, w := range in.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "WARNING: %s\n", w)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output with a Go template, or json")
	return cmd
}

func printInfo(out io.Writer, in *hostinfo.Info) {
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	overlay := "supported"
	if !in.OverlaySupported {
		overlay = "NOT supported: " + in.OverlayError
	}
	controllers := strings.Join(in.CgroupControllers, " ")
	if controllers == "" {
		controllers = "none"
	}
	fmt.Fprintf(out, "hako version %s, build %s\n", in.ServerVersion, in.Build)
	fmt.Fprintf(out, "Kernel Version: %s\n", in.KernelVersion)
	fmt.Fprintf(out, "Operating System: %s\n", in.OperatingSystem)
	fmt.Fprintf(out, "Architecture: %s\n", in.Architecture)
	fmt.Fprintf(out, "Default Platform: %s\n", in.DefaultPlatform)
	fmt.Fprintf(out, "CPUs: %d\n", in.NCPU)
	fmt.Fprintf(out, "Total Memory: %s\n", units.BytesSize(float64(in.MemTotal)))
	fmt.Fprintf(out, "Page Size: %d KiB\n", in.PageSize/1024)
	fmt.Fprintf(out, "Storage Driver: %s\n", in.Driver)
	fmt.Fprintf(out, " Root Dir: %s\n", in.RootDir)
	fmt.Fprintf(out, " Filesystem: %s\n", in.RootFilesystem)
	fmt.Fprintf(out, " Free Space: %s\n", units.BytesSize(float64(in.RootFreeBytes)))
	fmt.Fprintf(out, " Overlay Upper Dirs: %s\n", overlay)
	fmt.Fprintf(out, "Cgroup Version: %s (%s)\n", in.CgroupVersion, in.CgroupLayout)
	fmt.Fprintf(out, "Cgroup Driver: %s\n", in.CgroupDriver)
	fmt.Fprintf(out, "Cgroup Controllers: %s\n", controllers)
	fmt.Fprintf(out, "Security Options:\n")
	fmt.Fprintf(out, " seccomp: %s\n", yesNo(in.Seccomp))
	fmt.Fprintf(out, " apparmor: %s\n", yesNo(in.AppArmor))
}
