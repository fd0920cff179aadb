package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/runtime"
)

// newSystemCommand is Docker's system management command: df, prune, info.
func newSystemCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Manage hako",
		Args:  exactArgs(0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSystemDfCommand(g), newSystemPruneCommand(g), newInfoCommand(g))
	return cmd
}

func newSystemPruneCommand(g *globalOptions) *cobra.Command {
	var force, all, volumes bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			pf, err := parsePruneFilters(filters)
			if err != nil {
				return err
			}
			if volumes && len(filters) > 0 {
				return usageError("--filter with --volumes is not supported: prune volumes with hako volume prune")
			}
			out := cmd.OutOrStdout()
			if !force {
				w := "WARNING! This will remove:\n  - all stopped containers\n"
				if volumes {
					w += "  - all anonymous volumes not used by at least one container\n"
				}
				if all {
					w += "  - all images without at least one container associated to them\n"
				} else {
					w += "  - all dangling images\n"
				}
				if !ask(cmd, w+"\n") {
					return nil
				}
			}
			ids, space, err := pruneContainers(g, cmd.ErrOrStderr(), pf)
			printDeleted(out, "Deleted Containers:", ids)
			if err != nil {
				return err
			}
			if volumes {
				rep, err := runtime.Volumes{Root: g.root}.Prune(false)
				printDeleted(out, "Deleted Volumes:", rep.VolumesDeleted)
				if err != nil {
					return err
				}
				space += rep.SpaceReclaimed
			}
			lines, imgSpace, err := pruneImages(g, cmd.ErrOrStderr(), all, pf)
			printDeleted(out, "Deleted Images:", lines)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(float64(space+imgSpace)))
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	f.BoolVarP(&all, "all", "a", false, "remove all unused images, not just dangling ones")
	f.BoolVar(&volumes, "volumes", false, "prune anonymous volumes")
	stringArrayVar(f, &filters, "filter", nil, "provide filter values (until=DURATION|TIMESTAMP, label=KEY[=VALUE], label!=KEY[=VALUE])")
	return cmd
}

func newSystemDfCommand(g *globalOptions) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show hako disk usage",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := diskUse(g)
			if err != nil {
				return err
			}
			if verbose {
				return u.printVerbose(cmd.OutOrStdout())
			}
			return u.print(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show detailed information on space usage")
	return cmd
}

// usage is what system df reports.
type usage struct {
	images     []*image.Image
	imageUsers map[string]int   // image ID → containers using it
	layerSizes map[string]int64 // chain ID → size, each layer once
	usedLayers map[string]bool  // layers of images some container uses
	containers []*runtime.Info
	ctrSizes   map[string]uint64
	volumes    []runtime.VolumeUse
}

func diskUse(g *globalOptions) (*usage, error) {
	s, err := openStore(g)
	if err != nil {
		return nil, err
	}
	u := &usage{imageUsers: map[string]int{}, layerSizes: map[string]int64{}, usedLayers: map[string]bool{}, ctrSizes: map[string]uint64{}}
	if u.images, err = s.List(); err != nil {
		return nil, err
	}
	if u.containers, err = runtime.ListContainers(g.root); err != nil {
		return nil, err
	}
	for _, c := range u.containers {
		u.imageUsers[c.ImageID]++
		u.ctrSizes[c.ID] = c.SizeRw()
	}
	for _, img := range u.images {
		for c, n := range img.LayerSizes() {
			u.layerSizes[c] = n
			if u.imageUsers[img.ID.String()] > 0 {
				u.usedLayers[c] = true
			}
		}
	}
	if u.volumes, err = (runtime.Volumes{Root: g.root}).VolumeUsage(); err != nil {
		return nil, err
	}
	return u, nil
}

// reclaimable is Docker's RECLAIMABLE cell: the size, with its share of
// the total when there is a total.
func reclaimable(r, total uint64) string {
	if total == 0 {
		return units.HumanSize(float64(r))
	}
	return fmt.Sprintf("%s (%d%%)", units.HumanSize(float64(r)), r*100/total)
}

func (u *usage) print(out io.Writer) error {
	var imgSize, imgFree uint64
	for c, n := range u.layerSizes {
		imgSize += uint64(n)
		if !u.usedLayers[c] {
			imgFree += uint64(n)
		}
	}
	activeImages := 0
	for _, img := range u.images {
		if u.imageUsers[img.ID.String()] > 0 {
			activeImages++
		}
	}
	var ctrSize, ctrFree uint64
	running := 0
	for _, c := range u.containers {
		ctrSize += u.ctrSizes[c.ID]
		if c.State.Running {
			running++
		} else {
			ctrFree += u.ctrSizes[c.ID]
		}
	}
	var volSize, volFree uint64
	activeVols := 0
	for _, v := range u.volumes {
		volSize += v.Size
		if v.Links > 0 {
			activeVols++
		} else {
			volFree += v.Size
		}
	}
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
	fmt.Fprintf(tw, "Images\t%d\t%d\t%s\t%s\n", len(u.images), activeImages, units.HumanSize(float64(imgSize)), reclaimable(imgFree, imgSize))
	fmt.Fprintf(tw, "Containers\t%d\t%d\t%s\t%s\n", len(u.containers), running, units.HumanSize(float64(ctrSize)), reclaimable(ctrFree, ctrSize))
	fmt.Fprintf(tw, "Local Volumes\t%d\t%d\t%s\t%s\n", len(u.volumes), activeVols, units.HumanSize(float64(volSize)), reclaimable(volFree, volSize))
	fmt.Fprintf(tw, "Build Cache\t0\t0\t0B\t0B\n") // hako has no builder
	return tw.Flush()
}

func (u *usage) printVerbose(out io.Writer) error {
	// How many images share each layer: a layer of one image is unique to it.
	sharers := map[string]int{}
	for _, img := range u.images {
		for c := range img.LayerSizes() {
			sharers[c]++
		}
	}
	fmt.Fprint(out, "Images space usage:\n\n")
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS")
	for _, img := range u.images {
		var size, shared int64
		for c, n := range img.LayerSizes() {
			size += n
			if sharers[c] > 1 {
				shared += n
			}
		}
		for _, r := range imageRows(img, false) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Repository, r.Tag, r.ID, r.CreatedSince,
				units.HumanSize(float64(size)), units.HumanSize(float64(shared)), units.HumanSize(float64(size-shared)), u.imageUsers[img.ID.String()])
		}
	}
	tw.Flush()

	fmt.Fprint(out, "\nContainers space usage:\n\n")
	volumeDirs := map[string]bool{}
	for _, v := range u.volumes {
		volumeDirs[v.Mountpoint] = true
	}
	tw = tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES")
	now := time.Now()
	for _, c := range u.containers {
		r := newPsRow(c, now, false)
		vols := 0
		if c.Spec != nil {
			for _, m := range c.Spec.Mounts {
				if volumeDirs[m.Source] {
					vols++
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.Image, r.Command, vols,
			units.HumanSize(float64(u.ctrSizes[c.ID])), r.RunningFor, r.Status, r.Names)
	}
	tw.Flush()

	fmt.Fprint(out, "\nLocal Volumes space usage:\n\n")
	tw = tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "VOLUME NAME\tLINKS\tSIZE")
	for _, v := range u.volumes {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", v.Name, v.Links, units.HumanSize(float64(v.Size)))
	}
	tw.Flush()
	_, err := fmt.Fprint(out, "\nBuild cache usage: 0B\n")
	return err
}
