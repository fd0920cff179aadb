package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 12).

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// earlyState is state.json prepared ahead: encoded, and its temporary file
// created, while the init makes its mounts (the parent has nothing else to
// do then). At procReady, where upstream encodes the whole 45 KB and
// creates the file while the init waits for procRun, only the creation
// time is put in, the bytes written and the file renamed into place.
// Until the rename no state.json exists, as upstream: nothing (exec,
// hako-runc) can find and join the container before the init reached
// procReady (after pivot_root and the masked paths).
type earlyState struct {
	f      *os.File // the temporary file, empty until commit
	state  *State   // what it will hold, but for Created
	before []byte   // the JSON up to the creation time's value
	after  []byte   // the JSON after it
}

// createdZero is how the zero time.Time is encoded.
const createdZero = `"created":"0001-01-01T00:00:00Z"`

// prepareState prepares the state the container will have at procReady
// with p as its init. Nothing in it changes between the config sent to the
// init and procReady but the creation time: the init's pid, start time,
// namespace paths and descriptors are known, the cgroups applied, the
// config fixed (procHooks and the mount and seccomp syncs change none of
// it). c.initProcess and c.created are left as they are until commit.
func (c *Container) prepareState(p parentProcess) (e *earlyState, retErr error) {
	oldInit, oldCreated := c.initProcess, c.created
	c.initProcess, c.created = p, time.Time{}
	s := c.currentState()
	c.initProcess, c.created = oldInit, oldCreated

	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	// Created comes before Config; the ID cannot hold a quote, so the
	// first match is the field.
	i := bytes.Index(data, []byte(createdZero))
	if i < 0 {
		return nil, errors.New("state: creation time not found in its JSON")
	}
	f, err := os.CreateTemp(c.stateDir, "state-")
	if err != nil {
		return nil, err
	}
	return &earlyState{
		f:      f,
		state:  s,
		before: data[:i+len(`"created":`)],
		after:  data[i+len(createdZero):],
	}, nil
}

// commit stamps the state with the creation time, now, writes it and makes
// it the container's state.json, its creation time and init, as
// updateState(p) does after upstream sets c.created.
func (e *earlyState) commit(c *Container, p parentProcess) (*State, error) {
	created := time.Now().UTC()
	t, err := json.Marshal(created)
	if err != nil {
		return nil, err
	}
	f := e.f
	e.f = nil
	if err := writeAll(f, e.before, t, e.after); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	if err := os.Rename(f.Name(), filepath.Join(c.stateDir, stateFilename)); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	e.state.Created = created
	c.initProcess = p
	c.created = created
	return e.state, nil
}

// writeAll writes the pieces to f in one writev(2) (hako patch 14): no
// 45 KB buffer is made to join them, a dozen fresh pages of the parent's
// heap. A short write goes on with what is left.
func writeAll(f *os.File, pieces ...[]byte) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		for len(pieces) > 0 {
			n, err := unix.Writev(int(fd), pieces)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				werr = err
				return true
			}
			for n > 0 && len(pieces) > 0 {
				if n < len(pieces[0]) {
					pieces[0] = pieces[0][n:]
					n = 0
				} else {
					n -= len(pieces[0])
					pieces = pieces[1:]
				}
			}
			for len(pieces) > 0 && len(pieces[0]) == 0 {
				pieces = pieces[1:]
			}
		}
		return true
	}); err != nil {
		return err
	}
	if werr != nil {
		return &os.PathError{Op: "write", Path: f.Name(), Err: werr}
	}
	return nil
}

// discard removes the temporary file if commit never ran.
func (e *earlyState) discard() {
	if e != nil && e.f != nil {
		e.f.Close()
		os.Remove(e.f.Name())
		e.f = nil
	}
}
