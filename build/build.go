// Package build makes an image from a Dockerfile, as `hako build` does.
// buildkit's parser reads the Dockerfile (the grammar is not written
// again here); each RUN runs in a real container through package hako's run
// path (hako.Create, the stage's image, env, workdir and user), each COPY
// and ADD is applied to an overlay of the stage's layers mounted for this
// process alone. A step that changes files becomes one layer
// (rootfs.WriteDiff of the upper directory, image.Store.Commit); a
// metadata step becomes an image with the same layers and an empty_layer
// history entry. Steps are cached by parent image, resolved instruction
// and the content of their inputs (cache.go).
//
// Like package hako it joins package image and package runtime; only
// cmd/hako imports it.
package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"

	"github.com/hako-run/hako/cgroups"
	"github.com/hako-run/hako/image"
	"github.com/hako-run/hako/internal/atomicfile"
	"github.com/hako-run/hako/rootfs"
)

// Options describe one build.
type Options struct {
	Store   *image.Store // required
	RunRoot string       // hako's --runroot, for the RUN containers
	// ContextDir is the build context ("" = none: COPY finds nothing).
	ContextDir string
	// Dockerfile is its text; DockerfileName names it in errors
	// ("Dockerfile:7: …").
	Dockerfile     []byte
	DockerfileName string
	BuildArgs      map[string]string // --build-arg
	Target         string            // --target: the last stage built
	NoCache        bool              // --no-cache
	Pull           bool              // --pull: always pull FROM images
	Platform       *v1.Platform      // --platform; nil = the host's
	Network        string            // RUN's network: none (default), host or bridge
	Labels         map[string]string // --label, set on the final image
	// Out receives the step lines and the output of RUN (io.Discard for -q).
	Out io.Writer
	// Warn, when set, is told what went wrong without stopping the build.
	Warn    func(msg string)
	Cgroups *cgroups.Host // nil: detected
}

// Error is a failed step: the Dockerfile line it came from and why.
type Error struct {
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// stage is a parsed stage with the commands of its Dockerfile lines.
type stage struct {
	instructions.Stage
	line int
}

// state is a stage being built: its current image and config.
type state struct {
	img      *image.Image // nil: scratch before any step
	cfg      v1.Config
	platform v1.Platform
	args     map[string]string // ARGs declared in this stage, resolved
	cmdSet   bool              // a CMD was given in this stage (ENTRYPOINT keeps it)
	// fromStage: the stage starts from an earlier stage (whose ONBUILD
	// triggers are not run).
	fromStage bool
}

func (st *state) id() v1.Hash {
	if st.img == nil {
		return v1.Hash{}
	}
	return st.img.ID
}

type builder struct {
	o          Options
	name       string
	escape     rune
	global     map[string]string // meta ARGs and the predefined platform ARGs
	used       map[string]bool   // build args some ARG consumed
	stages     []stage
	built      map[int]*state
	ignore     *patternmatcher.PatternMatcher
	step, nstp int
	cache      *cache
	target     v1.Platform
}

// Build builds the Dockerfile and returns the final image (the target
// stage's). Each step's progress goes to o.Out, Docker's classic lines.
func Build(ctx context.Context, o Options) (*image.Image, error) {
	if o.Store == nil {
		return nil, errors.New("building: no image store")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.DockerfileName == "" {
		o.DockerfileName = "Dockerfile"
	}
	if o.Cgroups == nil {
		cg, err := cgroups.Detect()
		if err != nil {
			return nil, fmt.Errorf("detecting cgroups: %w", err)
		}
		o.Cgroups = cg
	}
	switch o.Network {
	case "":
		o.Network = "none"
	case "none", "host", "bridge":
	default:
		return nil, fmt.Errorf("network mode %q is not supported by hako build: use none, host or bridge", o.Network)
	}
	b := &builder{o: o, name: o.DockerfileName, built: map[int]*state{}, used: map[string]bool{}}
	b.target = image.HostPlatform()
	if o.Platform != nil {
		b.target = *o.Platform
	}
	b.cache = &cache{dir: filepath.Join(o.Store.Root(), cacheDir)}
	atomicfile.RemoveAbandoned(b.cache.dir) // entries a killed build left half-written
	metaArgs, err := b.parse()
	if err != nil {
		return nil, err
	}
	if err := b.readIgnore(); err != nil {
		return nil, err
	}
	b.globalArgs(metaArgs)
	target := len(b.stages) - 1
	if o.Target != "" {
		i, ok := instructions.HasStage(stagesOf(b.stages), o.Target)
		if !ok {
			return nil, fmt.Errorf("target stage %q could not be found", o.Target)
		}
		target = i
	}
	need, err := b.needed(target)
	if err != nil {
		return nil, err
	}
	for i := range b.stages {
		if need[i] {
			b.nstp += 1 + len(b.stages[i].Commands)
		}
	}
	// From here until the last image is tagged, no rmi may collect an
	// image this build stands on (cached steps included).
	release, err := o.Store.Use()
	if err != nil {
		return nil, err
	}
	defer release()
	// What killed builds left (work dirs, spools; with vfs whole trees).
	atomicfile.RemoveAbandoned(filepath.Join(o.Store.Root(), "tmp"))
	for i := range b.stages {
		if !need[i] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := b.buildStage(ctx, i); err != nil {
			return nil, err
		}
	}
	st := b.built[target]
	if len(o.Labels) > 0 {
		keys := make([]string, 0, len(o.Labels))
		for k := range o.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+o.Labels[k])
		}
		err := b.meta(ctx, st, "LABEL "+strings.Join(kv, " "), func(c *v1.Config) error {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			for k, v := range o.Labels {
				c.Labels[k] = v
			}
			return nil
		})
		if err != nil {
			return nil, &Error{File: b.name, Err: err}
		}
	}
	if st.img == nil {
		return nil, &Error{File: b.name, Err: errors.New("the build made no image (a scratch stage with no instruction)")}
	}
	if err := o.Store.KeepVisible(st.img.ID); err != nil {
		return nil, err
	}
	b.warnUnused()
	return st.img, nil
}

func stagesOf(s []stage) []instructions.Stage {
	out := make([]instructions.Stage, len(s))
	for i := range s {
		out[i] = s[i].Stage
	}
	return out
}

// parse reads the Dockerfile into stages with buildkit's parser, keeping
// each instruction's line for errors.
func (b *builder) parse() ([]instructions.ArgCommand, error) {
	res, err := parser.Parse(bytes.NewReader(b.o.Dockerfile))
	if err != nil {
		return nil, b.parseError(err, 0)
	}
	b.escape = res.EscapeToken
	var metaArgs []instructions.ArgCommand
	for _, n := range res.AST.Children {
		cmd, err := instructions.ParseInstruction(n)
		if err != nil {
			return nil, b.parseError(err, n.StartLine)
		}
		switch c := cmd.(type) {
		case *instructions.Stage:
			b.stages = append(b.stages, stage{Stage: *c, line: n.StartLine})
		case *instructions.ArgCommand:
			if len(b.stages) == 0 {
				metaArgs = append(metaArgs, *c)
				continue
			}
			b.stages[len(b.stages)-1].AddCommand(c)
		case instructions.Command:
			if len(b.stages) == 0 {
				return nil, &Error{File: b.name, Line: n.StartLine, Err: errors.New("no build stage in current context: the first instruction must be FROM (or ARG)")}
			}
			b.stages[len(b.stages)-1].AddCommand(c)
		default:
			return nil, &Error{File: b.name, Line: n.StartLine, Err: fmt.Errorf("%s is not an instruction", n.Value)}
		}
	}
	if len(b.stages) == 0 {
		return nil, &Error{File: b.name, Err: errors.New("the Dockerfile has no FROM instruction")}
	}
	return metaArgs, nil
}

func (b *builder) parseError(err error, line int) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "dockerfile parse error on line") && i > 0 {
		msg = msg[i+2:]
	}
	return &Error{File: b.name, Line: line, Err: errors.New(msg)}
}

// readIgnore reads the context's .dockerignore.
func (b *builder) readIgnore() error {
	if b.o.ContextDir == "" {
		return nil
	}
	// Inside the context, as any path of it: a symlink cannot make the
	// build read a host file, nor a FIFO block it.
	f, err := rootfs.OpenRegularInRoot(b.o.ContextDir, ".dockerignore")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading .dockerignore: %w", err)
	}
	defer f.Close()
	pats, err := readIgnoreFile(f)
	if err != nil {
		return fmt.Errorf("reading .dockerignore: %w", err)
	}
	if len(pats) == 0 {
		return nil
	}
	b.ignore, err = patternmatcher.New(pats)
	if err != nil {
		return fmt.Errorf("in .dockerignore: %w", err)
	}
	return nil
}

// globalArgs sets the ARGs FROM lines may use: the predefined platform
// ones and those declared before the first FROM (--build-arg overrides
// their defaults).
func (b *builder) globalArgs(metaArgs []instructions.ArgCommand) {
	host := image.HostPlatform()
	b.global = map[string]string{}
	for k, v := range platformArgs("BUILD", host) {
		b.global[k] = v
	}
	for k, v := range platformArgs("TARGET", b.target) {
		b.global[k] = v
	}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			v, given := b.o.BuildArgs[kv.Key]
			if given {
				b.used[kv.Key] = true
			} else if kv.Value != nil {
				v, _ = b.expand(*kv.Value, b.globalEnv())
			} else if pv, ok := b.global[kv.Key]; ok {
				v = pv
			}
			b.global[kv.Key] = v
		}
	}
}

func platformArgs(prefix string, p v1.Platform) map[string]string {
	return map[string]string{
		prefix + "PLATFORM": image.PlatformString(p),
		prefix + "OS":       p.OS,
		prefix + "ARCH":     p.Architecture,
		prefix + "VARIANT":  p.Variant,
	}
}

func (b *builder) globalEnv() []string {
	var env []string
	for k, v := range b.global {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// expand resolves $VAR words against env as the Dockerfile's shell does.
func (b *builder) expand(word string, env []string) (string, error) {
	lex := shell.NewLex(b.escape)
	s, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(env))
	return s, err
}

// stageRef finds the stage named or numbered ref before stage i.
func (b *builder) stageRef(ref string, before int) (int, bool) {
	for j := 0; j < before; j++ {
		if b.stages[j].Name != "" && strings.EqualFold(b.stages[j].Name, ref) {
			return j, true
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < before {
		return n, true
	}
	return 0, false
}

// needed marks the stages the target stands on (FROM a stage, COPY
// --from): the others are skipped.
func (b *builder) needed(target int) (map[int]bool, error) {
	need := map[int]bool{}
	var visit func(i int) error
	visit = func(i int) error {
		if need[i] {
			return nil
		}
		need[i] = true
		base, err := b.expand(b.stages[i].BaseName, b.globalEnv())
		if err != nil {
			return &Error{File: b.name, Line: b.stages[i].line, Err: err}
		}
		if j, ok := b.stageRef(base, i); ok {
			if err := visit(j); err != nil {
				return err
			}
		}
		for _, c := range b.stages[i].Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				from, err := b.expand(cp.From, b.globalEnv())
				if err != nil {
					return &Error{File: b.name, Line: lineOf(c), Err: err}
				}
				if j, ok := b.stageRef(from, i); ok {
					if err := visit(j); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return need, visit(target)
}

func lineOf(c instructions.Command) int {
	if loc := c.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

func (b *builder) stepLine(text string) {
	b.step++
	fmt.Fprintf(b.o.Out, "Step %d/%d : %s\n", b.step, b.nstp, text)
}

// buildStage runs stage i's FROM and commands.
func (b *builder) buildStage(ctx context.Context, i int) error {
	s := &b.stages[i]
	b.stepLine(s.SourceCode)
	st, err := b.from(ctx, i)
	if err != nil {
		return &Error{File: b.name, Line: s.line, Err: err}
	}
	if st.img != nil {
		fmt.Fprintf(b.o.Out, " ---> %s\n", short(st.img.ID))
	}
	b.built[i] = st
	if err := b.onBuild(ctx, i, st); err != nil {
		return &Error{File: b.name, Line: s.line, Err: err}
	}
	for _, c := range s.Commands {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.stepLine(codeOf(c))
		if err := b.dispatch(ctx, i, st, c); err != nil {
			var be *Error
			if errors.As(err, &be) {
				return err
			}
			return &Error{File: b.name, Line: lineOf(c), Err: err}
		}
		if st.img != nil {
			fmt.Fprintf(b.o.Out, " ---> %s\n", short(st.img.ID))
		}
	}
	return nil
}

// onBuild runs the ONBUILD triggers of the stage's base image, as Docker
// does right after FROM; the stage's image does not keep them.
func (b *builder) onBuild(ctx context.Context, i int, st *state) error {
	triggers := st.cfg.OnBuild
	if len(triggers) == 0 || st.fromStage {
		return nil
	}
	st.cfg.OnBuild = nil
	fmt.Fprintf(b.o.Out, "# Executing %d build trigger(s)\n", len(triggers))
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t + "\n"))
		if err != nil || len(res.AST.Children) != 1 {
			return fmt.Errorf("ONBUILD trigger %q of the base image: %v", t, err)
		}
		cmd, err := instructions.ParseCommand(res.AST.Children[0])
		if err != nil {
			return fmt.Errorf("ONBUILD trigger %q of the base image: %w", t, err)
		}
		fmt.Fprintf(b.o.Out, " ---> Running trigger: %s\n", t)
		if err := b.dispatch(ctx, i, st, cmd); err != nil {
			return fmt.Errorf("ONBUILD trigger %q: %w", t, err)
		}
		fmt.Fprintf(b.o.Out, " ---> %s\n", short(st.img.ID))
	}
	return nil
}

func codeOf(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return c.Name()
}

func short(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.Hex
	}
	return h.Hex[:12]
}

// from starts stage i from its base: scratch, an earlier stage or an
// image (pulled when missing, or always with --pull).
func (b *builder) from(ctx context.Context, i int) (*state, error) {
	s := &b.stages[i]
	env := b.globalEnv()
	base, err := b.expand(s.BaseName, env)
	if err != nil {
		return nil, err
	}
	platform := b.target
	if s.Platform != "" {
		ps, err := b.expand(s.Platform, env)
		if err != nil {
			return nil, err
		}
		if platform, err = image.ParsePlatform(ps); err != nil {
			return nil, fmt.Errorf("FROM --platform: %w", err)
		}
	}
	st := &state{platform: platform, args: map[string]string{}}
	if j, ok := b.stageRef(base, i); ok {
		prev := b.built[j]
		st.img, st.cfg, st.platform, st.fromStage = prev.img, copyConfig(prev.cfg), prev.platform, true
		return st, nil
	}
	if base == "scratch" {
		return st, nil
	}
	pull := image.PullMissing
	if b.o.Pull {
		pull = image.PullAlways
	}
	img, err := b.o.Store.Resolve(ctx, base, image.ResolveOptions{
		Pull: pull, Platform: &platform,
		Notice: func(msg string) { fmt.Fprintln(b.o.Out, msg) },
	})
	if err != nil {
		return nil, err
	}
	st.img, st.cfg, st.platform = img, copyConfig(img.Config.Config), img.Platform()
	return st, nil
}

// copyConfig deep-copies a config, so that an edit never changes another
// stage's or image's.
func copyConfig(c v1.Config) v1.Config {
	var out v1.Config
	raw, _ := json.Marshal(c)
	_ = json.Unmarshal(raw, &out)
	return out
}

// env is what RUN sees and words expand against: the config's ENV, then
// the stage's ARGs that ENV does not set.
func (st *state) env() []string {
	env := slices.Clone(st.cfg.Env)
	for _, k := range sortedKeys(st.args) {
		if !hasEnv(env, k) {
			env = append(env, k+"="+st.args[k])
		}
	}
	return env
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func hasEnv(env []string, k string) bool {
	for _, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			return true
		}
	}
	return false
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// workdir resolves p against the stage's working directory.
func (st *state) workdir(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	wd := st.cfg.WorkingDir
	if wd == "" {
		wd = "/"
	}
	return path.Join(wd, p)
}

func (b *builder) warnUnused() {
	var unused []string
	for k := range b.o.BuildArgs {
		if !b.used[k] && !predefinedArg(k) {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 && b.o.Warn != nil {
		slices.Sort(unused)
		b.o.Warn(fmt.Sprintf("One or more build-args %v were not consumed", unused))
	}
}

// predefinedArg reports whether a build arg may be given with --build-arg
// without an ARG line (the proxy variables); they reach RUN only. A switch,
// not a package-level map: every hako process would build the map at start.
func predefinedArg(k string) bool {
	switch k {
	case "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
		"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy":
		return true
	}
	return false
}
