package runccompat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
)

// getContainer loads the container named by the only argument.
func getContainer(g *globals, fs *flagSet) (*libcontainer.Container, error) {
	if err := fs.exactArgs(1); err != nil {
		return nil, err
	}
	return load(g, fs.args[0])
}

func load(g *globals, id string) (*libcontainer.Container, error) {
	if id == "" {
		return nil, errors.New("container id cannot be empty")
	}
	return libcontainer.Load(g.root, id)
}

func startCmd(g *globals, args []string) error {
	fs := newFlagSet("start")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	c, err := getContainer(g, fs)
	if err != nil {
		return err
	}
	status, err := c.Status()
	if err != nil {
		return err
	}
	switch status {
	case libcontainer.Created:
		return c.Exec()
	case libcontainer.Stopped:
		return errors.New("cannot start a container that has stopped")
	case libcontainer.Running:
		return errors.New("cannot start an already running container")
	default:
		return fmt.Errorf("cannot start a container in the %s state", status)
	}
}

// containerState is runc's state JSON (the OCI state plus owner).
type containerState struct {
	Version        string            `json:"ociVersion"`
	ID             string            `json:"id"`
	InitProcessPid int               `json:"pid"`
	Status         string            `json:"status"`
	Bundle         string            `json:"bundle"`
	Rootfs         string            `json:"rootfs"`
	Created        time.Time         `json:"created"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	Owner          string            `json:"owner"`
}

func stateOf(c *libcontainer.Container) (*containerState, error) {
	status, err := c.Status()
	if err != nil {
		return nil, err
	}
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	pid := st.BaseState.InitProcessPid
	if status == libcontainer.Stopped {
		pid = 0
	}
	bundle, annotations := utils.Annotations(st.Config.Labels)
	return &containerState{
		Version:        st.BaseState.Config.Version,
		ID:             st.BaseState.ID,
		InitProcessPid: pid,
		Status:         status.String(),
		Bundle:         bundle,
		Rootfs:         st.BaseState.Config.Rootfs,
		Created:        st.BaseState.Created,
		Annotations:    annotations,
	}, nil
}

func stateCmd(g *globals, args []string) error {
	fs := newFlagSet("state")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	c, err := getContainer(g, fs)
	if err != nil {
		return err
	}
	cs, err := stateOf(c)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(data)
	return err
}

func killCmd(g *globals, args []string) error {
	fs := newFlagSet("kill")
	all := fs.Bool("all", "a")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if len(fs.args) < 1 {
		return fmt.Errorf("hako-runc: %q requires a minimum of 1 argument(s)", "kill")
	}
	if len(fs.args) > 2 {
		return fmt.Errorf("hako-runc: %q requires a maximum of 2 argument(s)", "kill")
	}
	c, err := load(g, fs.args[0])
	if err != nil {
		return err
	}
	sigstr := "SIGTERM"
	if len(fs.args) == 2 {
		sigstr = fs.args[1]
	}
	sig, err := parseSignal(sigstr)
	if err != nil {
		return err
	}
	err = c.Signal(sig)
	if errors.Is(err, libcontainer.ErrNotRunning) && *all {
		err = nil
	}
	return err
}

func parseSignal(raw string) (unix.Signal, error) {
	if n, err := strconv.Atoi(raw); err == nil {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(raw)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return -1, fmt.Errorf("unknown signal %q", raw)
	}
	return sig, nil
}

// killContainer is runc's: SIGKILL, wait up to 10 s for the init to go,
// then destroy.
func killContainer(c *libcontainer.Container) error {
	_ = c.Signal(unix.SIGKILL)
	for range 100 {
		time.Sleep(100 * time.Millisecond)
		if err := c.Signal(unix.Signal(0)); err != nil {
			return c.Destroy()
		}
	}
	return errors.New("container init still running")
}

func deleteCmd(g *globals, args []string) error {
	fs := newFlagSet("delete")
	force := fs.Bool("force", "f")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if err := fs.exactArgs(1); err != nil {
		return err
	}
	id := fs.args[0]
	c, err := load(g, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			// A half-made state dir (a create that died) goes all the same.
			if id != "" && !strings.Contains(id, "/") && id != "." && id != ".." {
				path := filepath.Join(g.root, id)
				if e := os.RemoveAll(path); e != nil {
					fmt.Fprintf(os.Stderr, "remove %s: %v\n", path, e)
				}
			}
			if *force {
				return nil
			}
		}
		return err
	}
	if *force {
		return killContainer(c)
	}
	status, err := c.Status()
	if err != nil {
		return err
	}
	switch status {
	case libcontainer.Stopped:
		return c.Destroy()
	case libcontainer.Created:
		return killContainer(c)
	default:
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, status)
	}
}

func listCmd(g *globals, args []string) error {
	fs := newFlagSet("list")
	format := fs.String("table", "format", "f")
	quiet := fs.Bool("quiet", "q")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if len(fs.args) != 0 {
		return fmt.Errorf("hako-runc: %q requires exactly 0 argument(s)", "list")
	}
	entries, err := os.ReadDir(g.root)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	list := []containerState{}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		c, err := libcontainer.Load(g.root, e.Name())
		if err != nil {
			if !errors.Is(err, libcontainer.ErrNotExist) {
				fmt.Fprintf(os.Stderr, "load container %s: %v\n", e.Name(), err)
			}
			continue
		}
		cs, err := stateOf(c)
		if err != nil {
			fmt.Fprintf(os.Stderr, "status of %s: %v\n", e.Name(), err)
			continue
		}
		cs.Owner = owner(filepath.Join(g.root, e.Name()))
		list = append(list, *cs)
	}
	switch {
	case *quiet:
		for _, cs := range list {
			fmt.Println(cs.ID)
		}
	case *format == "json":
		return json.NewEncoder(os.Stdout).Encode(list)
	case *format == "table":
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, cs := range list {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", cs.ID, cs.InitProcessPid, cs.Status,
				cs.Bundle, cs.Created.Format(time.RFC3339Nano), cs.Owner)
		}
		return w.Flush()
	default:
		return fmt.Errorf("invalid format option")
	}
	return nil
}

// owner names the user owning path, as runc's list shows it.
func owner(path string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return ""
	}
	uid := strconv.Itoa(int(st.Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "#" + uid
}

func pauseCmd(g *globals, args []string) error {
	fs := newFlagSet("pause")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	c, err := getContainer(g, fs)
	if err != nil {
		return err
	}
	return c.Pause()
}

func resumeCmd(g *globals, args []string) error {
	fs := newFlagSet("resume")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	c, err := getContainer(g, fs)
	if err != nil {
		return err
	}
	return c.Resume()
}

// psCmd lists the container's processes: --format json prints the host
// pids as the shim reads them; table runs ps(1) over them, as runc does.
func psCmd(g *globals, args []string) error {
	fs := newFlagSet("ps")
	format := fs.String("table", "format", "f")
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if len(fs.args) < 1 {
		return fmt.Errorf("hako-runc: %q requires a minimum of 1 argument(s)", "ps")
	}
	c, err := load(g, fs.args[0])
	if err != nil {
		return err
	}
	pids, err := c.Processes()
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		if pids == nil {
			pids = []int{}
		}
		return json.NewEncoder(os.Stdout).Encode(pids)
	case "table":
		return psTable(pids, fs.args[1:])
	default:
		return fmt.Errorf("invalid format option")
	}
}
