package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// historyRow is one line of `hako history`, with Docker's --format fields.
type historyRow struct {
	ID           string
	CreatedSince string
	CreatedAt    string
	CreatedBy    string
	Size         string
	Comment      string
}

func newHistoryCommand(g *globalOptions) *cobra.Command {
	var quiet, noTrunc bool
	var human bool
	var format string
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore(g)
			if err != nil {
				return err
			}
			img, err := s.Get(args[0])
			if err != nil {
				return noSuchImage(err, args[0])
			}
			var rows []historyRow
			for i, h := range img.History() {
				r := historyRow{ID: "<missing>", CreatedBy: strings.ReplaceAll(h.CreatedBy, "\t", " "), Comment: h.Comment}
				if i == 0 {
					r.ID = img.ID.String()
					if !noTrunc {
						r.ID = img.ID.Hex[:12]
					}
				}
				if !noTrunc && len([]rune(r.CreatedBy)) > 45 {
					r.CreatedBy = string([]rune(r.CreatedBy)[:44]) + "…"
				}
				switch {
				case h.Created.IsZero():
					r.CreatedSince, r.CreatedAt = "N/A", "N/A"
				case human:
					r.CreatedSince = units.HumanDuration(time.Since(h.Created)) + " ago"
					r.CreatedAt = h.Created.Format(time.RFC3339)
				default:
					r.CreatedSince = h.Created.Format(time.RFC3339)
					r.CreatedAt = r.CreatedSince
				}
				if human {
					r.Size = units.HumanSizeWithPrecision(float64(h.Size), 3)
				} else {
					r.Size = fmt.Sprint(h.Size)
				}
				rows = append(rows, r)
			}
			out := cmd.OutOrStdout()
			switch {
			case quiet:
				for _, r := range rows {
					fmt.Fprintln(out, r.ID)
				}
				return nil
			case format != "":
				return printTemplate(out, format, rows)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	f.BoolVarP(&human, "human", "H", true, "print sizes and dates in human readable format")
	f.StringVar(&format, "format", "", "format output with a Go template, or 'json'")
	return cmd
}
