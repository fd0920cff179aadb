package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// contender is one tool being measured. Only run is timed; the other funcs
// are optional. A contender whose prepare or any round fails is reported as
// failed with that error, and the others carry on.
type contender struct {
	name string
	// note is printed under the table (the storage driver used, say); prepare
	// may set it.
	note string
	// prepare runs once, before the first round: check that the tool works,
	// pull an image the rounds reuse, build a bundle.
	prepare func(t *trial) error
	// setup readies an empty state for one round.
	setup func(t *trial) error
	// run is the measured work.
	run func(t *trial) error
	// cleanup undoes what run did; the round's dir is removed afterwards
	// anyway.
	cleanup func(t *trial) error
}

// trial is what a contender's funcs get to work with.
type trial struct {
	env   *benchEnv
	img   *benchImage
	home  string // this contender's dir for the whole measurement
	dir   string // an empty dir for this round only
	round int
}

// result is one contender's measurements.
type result struct {
	name  string
	note  string
	times []time.Duration
	err   error
}

func (r *result) median() time.Duration {
	s := append([]time.Duration(nil), r.times...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *result) spread() (lo, hi time.Duration) {
	lo, hi = r.times[0], r.times[0]
	for _, d := range r.times {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

// measure runs every contender rounds times, interleaved: round 1 of each,
// then round 2 of each, starting with a different contender every round so
// no tool is always first after another's write-back.
func measure(env *benchEnv, img *benchImage, cs []*contender, rounds int) ([]*result, error) {
	results := make([]*result, len(cs))
	trials := make([]*trial, len(cs))
	for i, c := range cs {
		results[i] = &result{name: c.name}
		home := filepath.Join(env.tmp, img.name, fmt.Sprintf("%d-%s", i, sanitize(c.name)))
		if err := os.MkdirAll(home, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", home, err)
		}
		trials[i] = &trial{env: env, img: img, home: home}
		if c.prepare != nil {
			if err := c.prepare(trials[i]); err != nil {
				results[i].err = err
				fmt.Fprintf(os.Stderr, "bench: %s: %s: %v\n", img.name, c.name, err)
			}
		}
		if env.ctx.Err() != nil {
			return nil, env.ctx.Err()
		}
	}
	for r := 0; r < rounds; r++ {
		for k := range cs {
			i := (k + r) % len(cs)
			if results[i].err != nil {
				continue
			}
			trials[i].round = r
			d, err := oneRound(cs[i], trials[i], fmt.Sprintf("round-%d", r))
			if env.ctx.Err() != nil {
				return nil, env.ctx.Err()
			}
			if err != nil {
				results[i].err = fmt.Errorf("round %d: %w", r+1, err)
				fmt.Fprintf(os.Stderr, "bench: %s: %s: %v\n", img.name, cs[i].name, results[i].err)
				continue
			}
			results[i].times = append(results[i].times, d)
			if rounds <= 10 || (r+1)%10 == 0 {
				fmt.Fprintf(os.Stderr, "bench: %s round %d/%d %-14s %8.3fs\n", img.name, r+1, rounds, cs[i].name, d.Seconds())
			}
		}
	}
	for i, c := range cs {
		results[i].note = c.note
		if err := removeTree(trials[i].home); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// oneRound does setup, the timed run and cleanup in a fresh dir.
func oneRound(c *contender, t *trial, dirName string) (time.Duration, error) {
	t.dir = filepath.Join(t.home, dirName)
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return 0, fmt.Errorf("creating round dir: %w", err)
	}
	defer removeTree(t.dir)
	if c.setup != nil {
		if err := c.setup(t); err != nil {
			return 0, fmt.Errorf("setup: %w", err)
		}
	}
	syncDisks()
	start := time.Now()
	err := c.run(t)
	d := time.Since(start)
	if c.cleanup != nil {
		if cerr := c.cleanup(t); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	}
	return d, err
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// mkdirs creates each of dirs.
func mkdirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	return nil
}
