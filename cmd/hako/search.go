package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hako-run/hako/image"
	"github.com/spf13/cobra"
)

// searchRow is one line of `hako search`, with Docker's --format fields.
type searchRow struct {
	Name        string
	Description string
	StarCount   string
	IsOfficial  string
	IsAutomated string
}

func newSearchCommand(g *globalOptions) *cobra.Command {
	var limit int
	var filters []string
	var format string
	var noTrunc bool
	cmd := &cobra.Command{
		Use:   "search [OPTIONS] TERM",
		Short: "Search a registry for images (Docker Hub unless TERM starts with a registry)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || limit > 100 {
				return usageError("limit %d is outside the range of [1, 100]", limit)
			}
			minStars, official, automated := 0, "", ""
			for _, f := range filters {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "stars":
					n, err := strconv.Atoi(v)
					if err != nil {
						return usageError("invalid filter 'stars=%s': give a number", v)
					}
					minStars = n
				case "is-official", "is-automated":
					if v != "true" && v != "false" {
						return usageError("invalid filter '%s': give true or false", f)
					}
					if k == "is-official" {
						official = v
					} else {
						automated = v
					}
				default:
					return usageError("invalid filter '%s': use stars=N, is-official=true|false or is-automated=true|false", f)
				}
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			results, err := s.Search(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			var rows []searchRow
			for _, r := range results {
				if r.StarCount < minStars || (official != "" && strconv.FormatBool(r.IsOfficial) != official) ||
					(automated != "" && strconv.FormatBool(r.IsAutomated) != automated) {
					continue
				}
				rows = append(rows, newSearchRow(r, noTrunc))
			}
			out := cmd.OutOrStdout()
			if format != "" {
				return printTemplate(out, format, rows)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION\tSTARS\tOFFICIAL")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Description, r.StarCount, r.IsOfficial)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 25, "max number of search results")
	stringArrayVarP(f, &filters, "filter", "f", nil, "filter output: stars=N, is-official=true|false, is-automated=true|false")
	f.StringVar(&format, "format", "", "format output with a Go template, or 'json'")
	f.BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	return cmd
}

func newSearchRow(r image.SearchResult, noTrunc bool) searchRow {
	desc := strings.NewReplacer("\n", " ", "\r", " ").Replace(r.Description)
	if !noTrunc && len([]rune(desc)) > 45 {
		desc = string([]rune(desc)[:44]) + "…"
	}
	row := searchRow{Name: r.Name, Description: desc, StarCount: strconv.Itoa(r.StarCount)}
	if r.IsOfficial {
		row.IsOfficial = "[OK]"
	}
	if r.IsAutomated {
		row.IsAutomated = "[OK]"
	}
	return row
}
