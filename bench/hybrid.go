package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// crun refuses a cgroup v1 host that also has a cgroup2 mount beside it (a
// hybrid host, like this one: /sys/fs/cgroup/unified). In a mount namespace
// of its own with that mount detached, crun sees a plain v1 host and runs.
// The bench re-executes itself as a helper in such a namespace and sends it
// the commands to run, one at a time, so each measured start is still one
// fork and exec of the tool, as for the other contenders.

// hybridHelperArg makes the bench binary the helper (checked before flags).
const hybridHelperArg = "-hybrid-mountns-helper"

// hybridCgroup2Mounts lists the cgroup2 mounts of a hybrid host: those not at
// /sys/fs/cgroup itself. Empty on a pure v1 or a pure v2 host.
func hybridCgroup2Mounts() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) || len(fields) < 5 {
			continue
		}
		if fields[sep+1] == "cgroup2" && fields[4] != "/sys/fs/cgroup" {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts, sc.Err()
}

// runHybridHelper is the helper's main: detach the cgroup2 mounts (in its
// own mount namespace, made private by the parent), then run each command
// read from stdin (a JSON argv) and answer with a JSON error string.
func runHybridHelper() int {
	mounts, err := hybridCgroup2Mounts()
	if err == nil {
		for _, m := range mounts {
			if err = syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
				err = fmt.Errorf("detaching %s: %w", m, err)
				break
			}
		}
	}
	enc := json.NewEncoder(os.Stdout)
	if err != nil {
		enc.Encode(err.Error())
		return 1
	}
	enc.Encode("")
	dec := json.NewDecoder(os.Stdin)
	for {
		var argv []string
		if err := dec.Decode(&argv); err != nil || len(argv) == 0 {
			return 0
		}
		msg := ""
		if err := runCmd(context.Background(), argv[0], argv[1:]...); err != nil {
			msg = err.Error()
		}
		if enc.Encode(msg) != nil {
			return 1
		}
	}
}

// hybridHelper is the parent's handle on a running helper.
type hybridHelper struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	enc *json.Encoder
	dec *json.Decoder
}

// startHybridHelper starts the helper in a new, private mount namespace and
// waits until it has detached the cgroup2 mounts.
func startHybridHelper(ctx context.Context) (*hybridHelper, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, hybridHelperArg)
	// Go makes the new namespace's mounts private before exec, so the
	// helper's unmount never reaches the host.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the mount-namespace helper: %w", err)
	}
	h := &hybridHelper{cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}
	if err := h.reply(); err != nil {
		h.close()
		return nil, fmt.Errorf("mount-namespace helper: %w", err)
	}
	return h, nil
}

func (h *hybridHelper) reply() error {
	var msg string
	if err := h.dec.Decode(&msg); err != nil {
		return fmt.Errorf("helper gone: %w", err)
	}
	if msg != "" {
		return errors.New(msg)
	}
	return nil
}

// run runs argv in the helper's namespace and waits for it.
func (h *hybridHelper) run(argv ...string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.enc.Encode(argv); err != nil {
		return fmt.Errorf("mount-namespace helper: %w", err)
	}
	return h.reply()
}

// close ends the helper: its stdin closes, it exits.
func (h *hybridHelper) close() {
	h.in.Close()
	h.cmd.Wait()
}
