package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

type inspectOptions struct {
	format string
	typ    string
}

func newInspectCommand(g *globalOptions) *cobra.Command {
	var o inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Show low-level information on containers and images",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.typ != "" && o.typ != "image" && o.typ != "container" {
				return usageError("unknown --type %q: use container or image", o.typ)
			}
			s, err := openStore(g)
			if err != nil {
				return err
			}
			var found []any
			var firstErr error
			for _, a := range args {
				// Containers first, as Docker (inspect_container.go).
				if c, err := inspectContainer(g, o.typ, a); c != nil || err != nil {
					if c != nil {
						found = append(found, c)
					} else if firstErr == nil {
						firstErr = err
					}
					continue
				}
				img, err := s.Get(a)
				if err != nil {
					if firstErr == nil {
						firstErr = noSuchImage(err, a)
					}
					continue
				}
				found = append(found, img.Inspect())
			}
			out := cmd.OutOrStdout()
			if o.format != "" {
				if err := printTemplate(out, o.format, found); err != nil {
					return err
				}
			} else {
				if found == nil {
					found = []any{}
				}
				data, err := json.MarshalIndent(found, "", "    ")
				if err != nil {
					return err
				}
				fmt.Fprintln(out, string(data))
			}
			return firstErr
		},
	}
	cmd.Flags().StringVarP(&o.format, "format", "f", "", "format output with a Go template")
	cmd.Flags().StringVar(&o.typ, "type", "", "only inspect objects of this type (container or image)")
	return cmd
}
