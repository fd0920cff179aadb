package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/hako-run/hako/image"
)

// dispatch runs one instruction of stage i on st.
func (b *builder) dispatch(ctx context.Context, i int, st *state, c instructions.Command) error {
	if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if _, isRun := c.(*instructions.RunCommand); !isRun {
			env := st.env()
			if err := ex.Expand(func(w string) (string, error) { return b.expand(w, env) }); err != nil {
				return err
			}
		}
	}
	text := codeOf(c)
	switch c := c.(type) {
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			v, given := b.o.BuildArgs[kv.Key]
			switch {
			case given:
				b.used[kv.Key] = true
			case kv.Value != nil:
				v = *kv.Value
			default:
				gv, ok := b.global[kv.Key]
				if !ok {
					continue // declared without a value: unset
				}
				v = gv
			}
			st.args[kv.Key] = v
		}
		return nil
	case *instructions.EnvCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			for _, kv := range c.Env {
				cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
			}
			return nil
		})
	case *instructions.LabelCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for _, kv := range c.Labels {
				cfg.Labels[kv.Key] = kv.Value
			}
			return nil
		})
	case *instructions.MaintainerCommand:
		return b.meta(ctx, st, text, func(*v1.Config) error { return nil })
	case *instructions.WorkdirCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			cfg.WorkingDir = st.workdir(c.Path)
			return nil
		})
	case *instructions.UserCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			cfg.User = c.User
			return nil
		})
	case *instructions.ExposeCommand:
		env := st.env()
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range c.Ports {
				p, err := b.expand(p, env)
				if err != nil {
					return err
				}
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
			return nil
		})
	case *instructions.VolumeCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, v := range c.Volumes {
				if v == "" {
					return errors.New("VOLUME specified can not be an empty string")
				}
				cfg.Volumes[v] = struct{}{}
			}
			return nil
		})
	case *instructions.StopSignalCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			cfg.StopSignal = c.Signal
			return nil
		})
	case *instructions.ShellCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			cfg.Shell = c.Shell
			return nil
		})
	case *instructions.CmdCommand:
		st.cmdSet = true
		args := st.withShell(c.ShellDependantCmdLine)
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			cfg.Cmd = args
			return nil
		})
	case *instructions.EntrypointCommand:
		args := st.withShell(c.ShellDependantCmdLine)
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			cfg.Entrypoint = args
			if !st.cmdSet {
				cfg.Cmd = nil // as Docker: a base image's CMD goes with a new ENTRYPOINT
			}
			return nil
		})
	case *instructions.HealthCheckCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			h := c.Health
			cfg.Healthcheck = &v1.HealthConfig{
				Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
				StartPeriod: h.StartPeriod, Retries: h.Retries,
			}
			return nil
		})
	case *instructions.OnbuildCommand:
		return b.meta(ctx, st, text, func(cfg *v1.Config) error {
			cfg.OnBuild = append(cfg.OnBuild, c.Expression)
			return nil
		})
	case *instructions.RunCommand:
		return b.run(ctx, st, c)
	case *instructions.CopyCommand:
		return b.copy(ctx, i, st, c.SourcesAndDest, copyFlags{from: c.From, chown: c.Chown, chmod: c.Chmod, text: text, parents: c.Parents, link: c.Link, exclude: c.ExcludePatterns})
	case *instructions.AddCommand:
		if c.Checksum != "" || c.KeepGitDir != nil {
			return errors.New("ADD --checksum and --keep-git-dir are not supported by hako build")
		}
		return b.copy(ctx, i, st, c.SourcesAndDest, copyFlags{chown: c.Chown, chmod: c.Chmod, text: text, add: true, link: c.Link, exclude: c.ExcludePatterns})
	}
	return fmt.Errorf("%s is not supported by hako build", strings.ToUpper(c.Name()))
}

// withShell is a command line in exec form: the shell form runs through
// the stage's SHELL (/bin/sh -c by default).
func (st *state) withShell(c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return c.CmdLine
	}
	sh := st.cfg.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, sh...), strings.Join(c.CmdLine, " "))
}

// meta commits a step that only changes the config: an image with the
// same layers and an empty_layer history entry. Its cache key is the
// parent, the text and the config it results in (so an ENV whose $ARG
// changed is a new step).
func (b *builder) meta(ctx context.Context, st *state, text string, edit func(*v1.Config) error) error {
	cfg := copyConfig(st.cfg)
	if err := edit(&cfg); err != nil {
		return err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return b.commit(ctx, st, text, cacheKey(st.id(), "meta", text, string(raw)), cfg, nil)
}

// commit makes the step's image (from the cache when the key is known),
// with config cfg and, when diff is set, one layer.
func (b *builder) commit(ctx context.Context, st *state, createdBy, key string, cfg v1.Config, diff func() (func(io.Writer) error, func(), error)) error {
	if !b.o.NoCache {
		if img := b.cache.get(b.o.Store, key); img != nil {
			fmt.Fprintln(b.o.Out, " ---> Using cache")
			st.img, st.cfg = img, copyConfig(img.Config.Config)
			return nil
		}
	}
	co := image.CommitOptions{
		Parent:       st.id(),
		CreatedBy:    createdBy,
		Intermediate: true,
		Edit: func(f *v1.ConfigFile) error {
			f.Config = cfg
			if st.img == nil { // from scratch: the target platform, no created date of a parent
				f.OS, f.Architecture, f.Variant = st.platform.OS, st.platform.Architecture, st.platform.Variant
			}
			return nil
		},
	}
	if diff != nil {
		d, done, err := diff()
		if err != nil {
			return err
		}
		defer done()
		co.Diff = d
	}
	img, err := b.o.Store.Commit(ctx, co)
	if err != nil {
		return err
	}
	if err := b.cache.put(key, img.ID); err != nil && b.o.Warn != nil {
		b.o.Warn(fmt.Sprintf("keeping the build cache: %v", err))
	}
	st.img, st.cfg = img, copyConfig(img.Config.Config)
	return nil
}

// cacheKey hashes what decides a step's result.
func cacheKey(parent v1.Hash, parts ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "hako-build-v1\x00%s", parent)
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
