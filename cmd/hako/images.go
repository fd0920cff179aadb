package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/hako-run/hako/image"
	template "github.com/hako-run/hako/internal/gotemplate"
	"github.com/spf13/cobra"
)

type imagesOptions struct {
	quiet   bool
	noTrunc bool
	all     bool // -a: build steps' intermediate images too
	format  string
}

// imageRow is one line of `hako images`, with Docker's --format fields.
type imageRow struct {
	Repository   string
	Tag          string
	ID           string
	Digest       string
	CreatedSince string
	CreatedAt    string
	Size         string
	created      time.Time
}

func newImagesCommand(g *globalOptions) *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImages(cmd.OutOrStdout(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "don't truncate output")
	f.BoolVarP(&o.all, "all", "a", false, "show all images (by default the intermediate images of builds are hidden)")
	f.StringVar(&o.format, "format", "", "format output with a Go template, or 'json'")
	return cmd
}

func runImages(out io.Writer, g *globalOptions, o imagesOptions, args []string) error {
	s, err := openStore(g)
	if err != nil {
		return err
	}
	all, err := s.List()
	if err != nil {
		return err
	}
	var rows []imageRow
	for _, img := range all {
		if img.Intermediate && len(img.Names) == 0 && !o.all {
			continue
		}
		for _, r := range imageRows(img, o.noTrunc) {
			if len(args) == 1 && !matchesRepoFilter(r, args[0]) {
				continue
			}
			rows = append(rows, r)
		}
	}
	switch {
	case o.quiet:
		seen := map[string]bool{}
		for _, r := range rows {
			if !seen[r.ID] {
				seen[r.ID] = true
				fmt.Fprintln(out, r.ID)
			}
		}
		return nil
	case o.format != "":
		return printTemplate(out, o.format, rows)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
	}
	return tw.Flush()
}

// imageRows gives one row per tag (or one <none> row), as Docker lists them.
func imageRows(img *image.Image, noTrunc bool) []imageRow {
	id := img.ID.String()
	if !noTrunc {
		id = img.ID.Hex[:12]
	}
	created := img.Config.Created.Time
	base := imageRow{
		Repository:   "<none>",
		Tag:          "<none>",
		ID:           id,
		Digest:       "<none>",
		CreatedSince: units.HumanDuration(time.Since(created)) + " ago",
		CreatedAt:    created.Format("2006-01-02 15:04:05 -0700 MST"),
		Size:         units.HumanSizeWithPrecision(float64(img.Size), 3),
		created:      created,
	}
	if created.IsZero() {
		base.CreatedSince, base.CreatedAt = "N/A", "N/A"
	}
	tags := img.Tags()
	if len(tags) == 0 {
		// Pulled by digest only: the repository with tag <none>, as Docker.
		var rows []imageRow
		seen := map[string]bool{}
		for _, n := range img.Names {
			ref, err := image.ParseReference(n)
			if err != nil {
				continue
			}
			fam := image.FamiliarName(ref)
			r := base
			r.Repository = fam[:strings.LastIndex(fam, "@")]
			if !seen[r.Repository] {
				seen[r.Repository] = true
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			rows = []imageRow{base}
		}
		return rows
	}
	var rows []imageRow
	for _, t := range tags {
		ref, err := image.ParseReference(t)
		if err != nil {
			continue
		}
		r := base
		fam := image.FamiliarName(ref)
		r.Repository, r.Tag = fam[:strings.LastIndex(fam, ":")], ref.Identifier()
		rows = append(rows, r)
	}
	return rows
}

// matchesRepoFilter implements `images REPOSITORY[:TAG]`.
func matchesRepoFilter(r imageRow, filter string) bool {
	ref, err := image.ParseReference(filter)
	if err != nil {
		return false
	}
	fam := image.FamiliarName(ref)
	repo := fam[:strings.LastIndexAny(fam, ":@")]
	if r.Repository != repo {
		return false
	}
	return !strings.Contains(filter[strings.LastIndex(filter, "/")+1:], ":") || r.Tag == ref.Identifier()
}

// printTemplate renders each item with a Go template, as Docker's --format,
// or as one JSON object a line for --format json.
func printTemplate[T any](out io.Writer, format string, items []T) error {
	if format == "json" {
		enc := json.NewEncoder(out)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		return nil
	}
	tmpl, err := template.New("format").Funcs(template.FuncMap{
		"json": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
	}).Parse(format)
	if err != nil {
		return usageError("invalid --format template: %v", err)
	}
	for _, it := range items {
		if err := tmpl.Execute(out, it); err != nil {
			return fmt.Errorf("formatting output: %w", err)
		}
		fmt.Fprintln(out)
	}
	return nil
}
