package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hako-run/hako/image"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type loginOptions struct {
	user, password string
	passwordStdin  bool
}

func newLoginCommand(g *globalOptions) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry (Docker Hub when no server is given)",
		Args:  rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			return runLogin(cmd, g, o, server)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.user, "username", "u", "", "user name")
	f.StringVarP(&o.password, "password", "p", "", "password or token")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "read the password or token from stdin")
	return cmd
}

func runLogin(cmd *cobra.Command, g *globalOptions, o loginOptions, server string) error {
	defer interruptible(cmd)()
	if o.password != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if o.passwordStdin {
			return usageError("--password and --password-stdin are mutually exclusive")
		}
	}
	if o.passwordStdin {
		if o.user == "" {
			return usageError("Must provide --username with --password-stdin")
		}
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return fmt.Errorf("reading the password from stdin: %w", err)
		}
		o.password = strings.TrimRight(string(data), "\r\n")
	}
	key := image.AuthKey(server)
	if o.user == "" || o.password == "" {
		if err := promptLogin(cmd, &o); err != nil {
			return err
		}
	}
	s, err := openStore(g)
	if err != nil {
		return err
	}
	if err := s.CheckLogin(cmd.Context(), key, o.user, o.password); err != nil {
		return err
	}
	if err := image.SaveLogin(key, o.user, o.password); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), "Login Succeeded")
	return nil
}

// promptLogin asks for what the flags left out, as docker login does, on
// a terminal only.
func promptLogin(cmd *cobra.Command, o *loginOptions) error {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return fmt.Errorf("Cannot perform an interactive login from a non TTY device")
	}
	out := cmd.OutOrStdout()
	if o.user == "" {
		fmt.Fprintf(out, "Username: ")
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the user name: %w", err)
		}
		o.user = strings.TrimSpace(line)
		if o.user == "" {
			return fmt.Errorf("Username cannot be empty")
		}
	}
	if o.password == "" {
		fmt.Fprintf(out, "Password: ")
		pw, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return fmt.Errorf("reading the password: %w", err)
		}
		o.password = string(pw)
		if o.password == "" {
			return fmt.Errorf("Password is required")
		}
	}
	return nil
}

func newLogoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry (Docker Hub when no server is given)",
		Args:  rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			key := image.AuthKey(server)
			removed, err := image.RemoveLogin(key)
			if err != nil {
				return err
			}
			if !removed {
				fmt.Fprintf(cmd.OutOrStdout(), "Not logged in to %s\n", key)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removing login credentials for %s\n", key)
			return nil
		},
	}
}
