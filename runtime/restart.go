package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Restart policies (--restart), as Docker's restart manager applies them.
// The detached monitor runs the loop: after the container's process ended
// and was torn down, it asks ShouldRestart, waits the back-off, prepares
// the container again (prepareRun, as hako start does) and runs it, all
// while holding the container's lock. stop and kill end the loop through
// a marker file written before they signal (stopped.json); start clears it.

// RestartPolicy is --restart: Name is "no", "on-failure", "always" or
// "unless-stopped"; MaximumRetryCount bounds on-failure (0: no bound).
type RestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// ParseRestartPolicy parses --restart as Docker does ("name[:max-retries]")
// and checks it as Docker's daemon does, with its words.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	if s == "" {
		return RestartPolicy{Name: "no"}, nil
	}
	name, count, ok := strings.Cut(s, ":")
	if ok && name == "" {
		return RestartPolicy{}, errors.New("invalid restart policy format: no policy provided before colon")
	}
	p := RestartPolicy{Name: name}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return RestartPolicy{}, errors.New("invalid restart policy format: maximum retry count must be an integer")
		}
		p.MaximumRetryCount = n
	}
	switch p.Name {
	case "no", "always", "unless-stopped":
		if p.MaximumRetryCount != 0 {
			msg := "invalid restart policy: maximum retry count can only be used with 'on-failure'"
			if p.MaximumRetryCount < 0 {
				msg += " and cannot be negative"
			}
			return RestartPolicy{}, errors.New(msg)
		}
	case "on-failure":
		if p.MaximumRetryCount < 0 {
			return RestartPolicy{}, errors.New("invalid restart policy: maximum retry count cannot be negative")
		}
	default:
		return RestartPolicy{}, fmt.Errorf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", p.Name)
	}
	return p, nil
}

// IsNone reports whether the policy never restarts.
func (p *RestartPolicy) IsNone() bool { return p == nil || p.Name == "" || p.Name == "no" }

// ShouldRestart is Docker's decision after the container's process ended
// with code: always restarts; unless-stopped unless it was stopped by
// hand; on-failure on a non-zero code while fewer than the maximum
// restarts were made (count).
func (p *RestartPolicy) ShouldRestart(code int, manuallyStopped bool, count int) bool {
	if p.IsNone() {
		return false
	}
	switch p.Name {
	case "always":
		return true
	case "unless-stopped":
		return !manuallyStopped
	case "on-failure":
		return code != 0 && (p.MaximumRetryCount == 0 || count < p.MaximumRetryCount)
	}
	return false
}

// Docker's back-off between restarts: 100 ms, doubling up to a minute,
// back to 100 ms once the container ran for 10 s.
const (
	backoffStart = 100 * time.Millisecond
	backoffMax   = time.Minute
	backoffReset = 10 * time.Second
)

// NextBackoff is the wait before the next restart, after the previous wait
// prev (0: none yet) and a run that lasted ran.
func NextBackoff(prev, ran time.Duration) time.Duration {
	if ran >= backoffReset {
		prev = 0
	}
	if prev == 0 {
		return backoffStart
	}
	return min(prev*2, backoffMax)
}

// restartFile keeps the restart count and whether the monitor is waiting
// to restart the container; written by the lock holder only.
const restartFile = "restart.json"

// RestartState is ROOT/containers/<id>/restart.json.
type RestartState struct {
	Count      int  `json:"count"`
	Restarting bool `json:"restarting,omitempty"` // the monitor waits out a back-off
}

func readRestart(dir string) RestartState {
	var r RestartState
	if b, err := os.ReadFile(filepath.Join(dir, restartFile)); err == nil {
		json.Unmarshal(b, &r)
	}
	return r
}

// stoppedFile marks a container stopped by hand (stop, kill): its monitor
// restarts it no more, and an unless-stopped one stays down at boot.
// Written, without the lock, by whoever stops it; removed by start.
const stoppedFile = "stopped.json"

type stoppedMark struct {
	At time.Time `json:"at"`
}

// MarkStopped records that the container was stopped by hand, before it is
// signalled, so its monitor does not restart it.
func MarkStopped(info *Info) error {
	if err := writeJSON(filepath.Join(info.Dir, stoppedFile), stoppedMark{At: time.Now().UTC()}); err != nil {
		if _, serr := os.Stat(info.Dir); errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNoSuchContainer, info.ID) // removed meanwhile
		}
		return fmt.Errorf("marking container %s stopped: %w", info.ID, err)
	}
	return nil
}

// ManuallyStopped reports whether the container was stopped by hand since
// it was last started.
func (i *Info) ManuallyStopped() bool {
	_, err := os.Stat(filepath.Join(i.Dir, stoppedFile))
	return err == nil
}

func clearStopped(dir string) error {
	if err := os.Remove(filepath.Join(dir, stoppedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// RestartCount is how often the monitor restarted the container since it
// was last started by hand.
func (i *Info) RestartCount() int { return readRestart(i.Dir).Count }

// ShouldStartAtBoot reports whether the boot command (hako start
// --all-restartable) starts the container, as Docker's daemon does when it
// starts: it is stopped (no live monitor or init), was started before, and
// its policy says so for how it ended — always even when stopped by hand,
// unless-stopped only when not, on-failure when it failed (a container cut
// short by the reboot counts as killed, 137).
func (i *Info) ShouldStartAtBoot() bool {
	if i.Restart.IsNone() || i.Remove {
		return false
	}
	s := i.State
	if s.Running || s.MonitorAlive || s.Status != "exited" {
		return false
	}
	return i.Restart.ShouldRestart(s.ExitCode, i.ManuallyStopped(), 0)
}

// RunState is the restart loop's state between runs, which the monitor
// carries across its re-execs (monitor/wait.go).
type RunState struct {
	Made    int           // restarts made by this monitor: on-failure's budget, as Docker's restart manager counts
	Backoff time.Duration // the last back-off (0: none yet)
	Started time.Time     // when the current run started
}

// AfterRun is the restart loop's step, in the monitor, once the run that
// started at st.Started ended with code and was torn down (err: it could
// not start or be torn down): while the policy says so and nobody stopped
// it, it waits the back-off, prepares the container again and returns
// true for the caller to start it. When it returns false the caller is
// done: the restart state is the recorded exit. logf tells the
// container's log why a restart failed. The caller holds the lock.
func (c *Container) AfterRun(code int, err error, st *RunState, logf func(format string, args ...any)) bool {
	if c.restartStep(code, err, st, logf) {
		return true
	}
	if r := readRestart(c.dir); r.Restarting {
		r.Restarting = false
		writeJSON(filepath.Join(c.dir, restartFile), r)
	}
	return false
}

func (c *Container) restartStep(code int, err error, st *RunState, logf func(format string, args ...any)) bool {
	if err != nil || c.remove {
		return false // it could not start or be torn down, or is gone: no restart
	}
	st.Backoff = NextBackoff(st.Backoff, time.Since(st.Started))
	// Stopped by hand (stop, kill): no restart whatever the policy, as
	// Docker's stop and kill cancel its restart manager.
	info := &Info{Record: c.Record, Dir: c.dir}
	if info.ManuallyStopped() || !c.Restart.ShouldRestart(code, false, st.Made) {
		return false
	}
	count := readRestart(c.dir).Count + 1 // shown; kept across the boot command
	st.Made++
	if err := writeJSON(filepath.Join(c.dir, restartFile), RestartState{Count: count, Restarting: true}); err != nil {
		logf("hako: recording the restart: %v", err)
		return false
	}
	if !c.waitBackoff(st.Backoff) {
		return false // stopped meanwhile
	}
	if err := c.prepareRun(); err != nil {
		logf("hako: restarting the container: %v", err)
		return false
	}
	return true
}

// waitBackoff sleeps d, returning false early when the container is
// stopped by hand meanwhile.
func (c *Container) waitBackoff(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if _, err := os.Stat(filepath.Join(c.dir, stoppedFile)); err == nil {
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		time.Sleep(min(left, 50*time.Millisecond))
	}
}
