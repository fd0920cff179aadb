package runccompat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	_ "github.com/opencontainers/cgroups/devices" // device rules need the devices controller

	"github.com/hako-run/hako/runtime"
)

// startOpts are the flags create and run share.
type startOpts struct {
	bundle, pidFile, consoleSocket string
	noPivot, noNewKeyring          bool
	preserveFDs                    int
	detach                         bool
	create                         bool // create: the init waits on the exec fifo
}

func (o *startOpts) flags(fs *flagSet) func() error {
	bundle := fs.String("", "bundle", "b")
	pidFile := fs.String("", "pid-file")
	console := fs.String("", "console-socket")
	noPivot := fs.Bool("no-pivot")
	noNewKeyring := fs.Bool("no-new-keyring")
	preserve := fs.String("0", "preserve-fds")
	return func() error {
		o.bundle, o.pidFile, o.consoleSocket = *bundle, *pidFile, *console
		o.noPivot, o.noNewKeyring = *noPivot, *noNewKeyring
		n, err := strconv.Atoi(*preserve)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid --preserve-fds %q", *preserve)
		}
		o.preserveFDs = n
		return nil
	}
}

func createCmd(g *globals, args []string) error {
	fs := newFlagSet("create")
	o := &startOpts{create: true, detach: true}
	done := o.flags(fs)
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if err := done(); err != nil {
		return err
	}
	if err := fs.exactArgs(1); err != nil {
		return err
	}
	return startContainer(g, fs.args[0], o)
}

func runCmd(g *globals, args []string) error {
	fs := newFlagSet("run")
	o := &startOpts{}
	done := o.flags(fs)
	detach := fs.Bool("detach", "d")
	fs.Bool("keep") // accepted; a foreground run always deletes its container
	if err := fs.parse(args, false); err != nil {
		return err
	}
	if err := done(); err != nil {
		return err
	}
	o.detach = *detach
	if err := fs.exactArgs(1); err != nil {
		return err
	}
	return startContainer(g, fs.args[0], o)
}

// startContainer is runc's startContainer: the bundle's spec as given,
// converted, created, and its init started (create: blocked on the exec
// fifo until start; run: running, waited for unless detached).
func startContainer(g *globals, id string, o *startOpts) (retErr error) {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if o.pidFile != "" {
		abs, err := filepath.Abs(o.pidFile)
		if err != nil {
			return err
		}
		o.pidFile = abs
	}
	if o.bundle != "" {
		if err := os.Chdir(o.bundle); err != nil {
			return err
		}
	}
	spec, err := loadSpec("config.json")
	if err != nil {
		return err
	}
	if err := validateProcess(spec.Process, o.detach, o.consoleSocket); err != nil {
		return err
	}
	if err := checkCgroupDriver(g.systemdCgroup, spec); err != nil {
		return err
	}
	// specconv takes the working directory as the bundle (the chdir above).
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:       id,
		UseSystemdCgroup: g.systemdCgroup,
		NoPivotRoot:      o.noPivot,
		NoNewKeyring:     o.noNewKeyring,
		Spec:             spec,
		RootlessEUID:     os.Geteuid() != 0,
		RootlessCgroups:  os.Geteuid() != 0,
	})
	if err != nil {
		return err
	}
	if cfg.Seccomp != nil {
		how, err := runtime.PrecompileSeccomp(seccompCacheDir(g.root), cfg.Seccomp)
		if err != nil {
			return err
		}
		logrus.Debugf("seccomp program: %d instructions, %s", len(cfg.Seccomp.Program)/8, how)
	}
	c, err := libcontainer.Create(g.root, id, cfg)
	if err != nil {
		return err
	}
	destroy := !o.detach
	defer func() {
		if destroy || retErr != nil {
			if err := c.Destroy(); err != nil {
				logrus.Warn(err)
			}
		}
	}()
	p, err := newProcess(spec.Process)
	if err != nil {
		return err
	}
	p.Init = true
	if err := addPreservedFDs(p, o.preserveFDs); err != nil {
		return err
	}
	closeIO, err := setupIO(p, spec.Process.Terminal, o.consoleSocket)
	if err != nil {
		return err
	}
	defer closeIO()
	var sigs chan os.Signal
	if !o.detach {
		sigs = make(chan os.Signal, 128)
		signal.Notify(sigs)
		defer signal.Stop(sigs)
	}
	if o.create {
		err = c.Start(p)
	} else {
		err = c.Run(p)
	}
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			_ = p.Signal(unix.SIGKILL)
			_, _ = p.Wait()
		}
	}()
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile, p); err != nil {
			return err
		}
	}
	if o.detach {
		return nil
	}
	return &exitError{code: wait(p, sigs)}
}

// wait forwards signals to p until it exits and returns its exit code.
func wait(p *libcontainer.Process, sigs chan os.Signal) int {
	done := make(chan int, 1)
	go func() {
		ps, _ := p.Wait()
		done <- exitCode(ps)
	}()
	for {
		select {
		case code := <-done:
			return code
		case s := <-sigs:
			switch s {
			case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH, unix.SIGPIPE:
				continue
			}
			_ = p.Signal(s)
		}
	}
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 255
	}
	return runtime.ExitCode(ps)
}

// seccompCacheDir keeps hako's compiled seccomp programs beside the
// containers; the dot keeps it out of list (no container ID is listed from
// a name libcontainer would not have made).
func seccompCacheDir(root string) string { return filepath.Join(root, ".hako-seccomp") }

func loadSpec(path string) (*specs.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("JSON specification file %s not found", path)
		}
		return nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, err
	}
	if spec.Process == nil {
		return nil, errors.New("process property must not be empty")
	}
	return &spec, nil
}

// validateProcess is runc's validateProcessSpec plus its terminal checks.
func validateProcess(p *specs.Process, detach bool, consoleSocket string) error {
	switch {
	case p == nil:
		return errors.New("process property must not be empty")
	case p.Cwd == "":
		return errors.New("Cwd property must not be empty")
	case !filepath.IsAbs(p.Cwd):
		return errors.New("Cwd must be an absolute path")
	case len(p.Args) == 0:
		return errors.New("args must not be empty")
	case p.Terminal && detach && consoleSocket == "":
		return errors.New("cannot allocate tty if runc will detach without setting console socket")
	case (!detach || !p.Terminal) && consoleSocket != "":
		return errors.New("cannot use console socket if runc will not detach or allocate tty")
	case p.Terminal && !detach:
		// runc would proxy the pty itself; nothing under containerd asks for it.
		return errors.New("hako-runc run: a terminal needs --detach and --console-socket")
	}
	return nil
}

// newProcess is runc's newProcess: the spec's process for libcontainer.
func newProcess(sp *specs.Process) (*libcontainer.Process, error) {
	p := &libcontainer.Process{
		Args:            sp.Args,
		Env:             sp.Env,
		UID:             int(sp.User.UID),
		GID:             int(sp.User.GID),
		Cwd:             sp.Cwd,
		Label:           sp.SelinuxLabel,
		NoNewPrivileges: &sp.NoNewPrivileges,
		AppArmorProfile: sp.ApparmorProfile,
		Scheduler:       sp.Scheduler,
		IOPriority:      sp.IOPriority,
		LogLevel:        strconv.Itoa(int(logrus.GetLevel())),
	}
	if sp.ConsoleSize != nil {
		p.ConsoleWidth, p.ConsoleHeight = uint16(sp.ConsoleSize.Width), uint16(sp.ConsoleSize.Height)
	}
	if c := sp.Capabilities; c != nil {
		p.Capabilities = &configs.Capabilities{Bounding: c.Bounding, Effective: c.Effective,
			Inheritable: c.Inheritable, Permitted: c.Permitted, Ambient: c.Ambient}
	}
	for _, g := range sp.User.AdditionalGids {
		p.AdditionalGroups = append(p.AdditionalGroups, int(g))
	}
	for _, r := range sp.Rlimits {
		rl, err := runtime.ConvertRlimit(r)
		if err != nil {
			return nil, err
		}
		p.Rlimits = append(p.Rlimits, rl)
	}
	aff, err := configs.ConvertCPUAffinity(sp.ExecCPUAffinity)
	if err != nil {
		return nil, err
	}
	p.CPUAffinity = aff
	return p, nil
}

// addPreservedFDs passes fds 3..3+n-1 on to the process (--preserve-fds).
func addPreservedFDs(p *libcontainer.Process, n int) error {
	for fd := 3; fd < 3+n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("unable to stat preserved-fd %d (of %d): %w", fd-3, n, err)
		}
		p.ExtraFiles = append(p.ExtraFiles, os.NewFile(uintptr(fd), "PreserveFD:"+strconv.Itoa(fd)))
	}
	return nil
}

// setupIO wires the process's stdio as runc does for a detached process:
// with a terminal, the socket the caller receives the pty master on (init
// sends it); otherwise this process's own stdio, inherited untouched.
func setupIO(p *libcontainer.Process, terminal bool, consoleSocket string) (closeFn func(), err error) {
	if !terminal {
		p.Stdin, p.Stdout, p.Stderr = os.Stdin, os.Stdout, os.Stderr
		return func() {}, nil
	}
	conn, err := net.Dial("unix", consoleSocket)
	if err != nil {
		return nil, err
	}
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		conn.Close()
		return nil, err
	}
	p.ConsoleSocket = f
	return func() { f.Close(); conn.Close() }, nil
}

// writePidFile writes the process's pid atomically, as runc's createPidFile.
func writePidFile(path string, p *libcontainer.Process) error {
	pid, err := p.Pid()
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_SYNC, 0o666)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(pid))
	f.Close()
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
