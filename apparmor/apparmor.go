// Package apparmor confines containers with AppArmor where the host has it,
// as Docker does: a default profile (hako-default, generated from Docker's
// own template and loaded with apparmor_parser on first use), unconfined
// for privileged containers, or a profile the user names. Where AppArmor is
// not enabled, nothing is applied and nothing is said.
package apparmor

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hako-run/hako/internal/atomicfile"
	template "github.com/hako-run/hako/internal/gotemplate"
)

const (
	// DefaultProfile is the profile containers get unless told otherwise.
	DefaultProfile = "hako-default"
	// Unconfined is AppArmor's name for no confinement.
	Unconfined = "unconfined"
)

// Host is the AppArmor state of a machine, read from the files below. They
// are fields so tests can fake a host.
type Host struct {
	EnabledPath  string // "Y" when the kernel's AppArmor is on
	ProfilesPath string // the loaded profiles, "NAME (MODE)" per line
	ParserPath   string // apparmor_parser, which loads profiles
	ProfileDir   string // where the template's includes (abi/3.0, tunables/global…) live
	CurrentPath  string // hako's own confinement, which may signal containers
	LockPath     string // taken while the default profile is checked and loaded
	// InContainer is true when hako itself runs in a container (the
	// "container" environment variable is set): Docker then leaves
	// AppArmor alone, since the profiles belong to the outer host.
	InContainer bool
}

// NewHost is this machine's AppArmor, with its lock in runRoot (hako's
// --runroot).
func NewHost(runRoot string) *Host {
	return &Host{
		EnabledPath:  "/sys/module/apparmor/parameters/enabled",
		ProfilesPath: "/sys/kernel/security/apparmor/profiles",
		ParserPath:   "/sbin/apparmor_parser",
		ProfileDir:   "/etc/apparmor.d",
		CurrentPath:  "/proc/self/attr/current",
		LockPath:     filepath.Join(runRoot, "apparmor.lock"),
		InContainer:  os.Getenv("container") != "",
	}
}

// Enabled reports whether containers can be confined here, by Docker's
// test: the kernel has AppArmor on, its securityfs is mounted, and
// apparmor_parser is installed.
func (h *Host) Enabled() bool {
	if h.InContainer {
		return false
	}
	if _, err := os.Stat(filepath.Dir(h.ProfilesPath)); err != nil {
		return false
	}
	if _, err := os.Stat(h.ParserPath); err != nil {
		return false
	}
	b, err := os.ReadFile(h.EnabledPath)
	return err == nil && len(b) > 1 && b[0] == 'Y'
}

// IsLoaded reports whether the kernel has a profile of that name.
func (h *Host) IsLoaded(name string) (bool, error) {
	f, err := os.Open(h.ProfilesPath)
	if err != nil {
		return false, fmt.Errorf("reading the loaded AppArmor profiles: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if label, _ := splitCon(sc.Text()); label == name {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("reading the loaded AppArmor profiles: %w", err)
	}
	return false, nil
}

// profileData fills the template (moby's names).
type profileData struct {
	Abi           string
	Name          string
	DaemonProfile string // the profile of the process allowed to signal containers
	Imports       []string
	InnerImports  []string
}

// Generate writes the hako-default profile, made as Docker makes
// docker-default: the ABI and includes the host has, and hako's own
// profile as the one allowed to signal the container.
func (h *Host) Generate(w io.Writer) error {
	return h.generate(w, DefaultProfile)
}

func (h *Host) generate(w io.Writer, name string) error {
	t, err := template.New("apparmor_profile").Parse(baseTemplate)
	if err != nil {
		return fmt.Errorf("parsing the AppArmor template: %w", err)
	}
	p := profileData{Name: name, DaemonProfile: Unconfined}
	if b, err := os.ReadFile(h.CurrentPath); err == nil {
		p.DaemonProfile = cleanProfileName(string(b))
	}
	if h.hasMacro("abi/3.0") {
		p.Abi = "abi/3.0"
	}
	if h.hasMacro("tunables/global") {
		p.Imports = append(p.Imports, "#include <tunables/global>")
	} else {
		p.Imports = append(p.Imports, "@{PROC}=/proc/")
	}
	if h.hasMacro("abstractions/base") {
		p.InnerImports = append(p.InnerImports, "#include <abstractions/base>")
	}
	return t.Execute(w, p)
}

func (h *Host) hasMacro(name string) bool {
	_, err := os.Stat(filepath.Join(h.ProfileDir, name))
	return err == nil
}

// EnsureDefault loads hako-default unless the kernel has it. Profiles can
// be unloaded behind hako's back (package upgrades reload AppArmor), so
// this runs before each container that uses it; the lock makes two runs
// load it once.
func (h *Host) EnsureDefault() error {
	if ok, err := h.IsLoaded(DefaultProfile); err != nil || ok {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(h.LockPath), 0o700); err != nil {
		return fmt.Errorf("loading the %s AppArmor profile: %w", DefaultProfile, err)
	}
	unlock, err := atomicfile.Lock(h.LockPath, true)
	if err != nil {
		return fmt.Errorf("loading the %s AppArmor profile: %w", DefaultProfile, err)
	}
	defer unlock()
	// Another hako may have loaded it while this one waited.
	if ok, err := h.IsLoaded(DefaultProfile); err != nil || ok {
		return err
	}
	var profile bytes.Buffer
	if err := h.Generate(&profile); err != nil {
		return err
	}
	// -K: no cache (it may live on a read-only file system); -r: replace.
	cmd := exec.Command(h.ParserPath, "-Kr")
	cmd.Stdin = &profile
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("AppArmor is enabled but the %s profile could not be loaded: %s: %w",
			DefaultProfile, strings.TrimSpace(string(out)), err)
	}
	return nil
}

// Choose picks the profile for a container, with Docker's rules, from the
// user's --security-opt apparmor= value ("" when not given):
//   - AppArmor not enabled here: none (""); a requested profile is ignored,
//     as Docker ignores it;
//   - a named profile: that one, which must be loaded ("unconfined" always is);
//   - none named: unconfined when privileged, else hako-default, loaded on
//     demand.
func (h *Host) Choose(requested string, privileged bool) (string, error) {
	if !h.Enabled() {
		return "", nil
	}
	switch {
	case requested == "" && privileged, requested == Unconfined:
		return Unconfined, nil
	case requested == "" || requested == DefaultProfile:
		if err := h.EnsureDefault(); err != nil {
			return "", err
		}
		return DefaultProfile, nil
	}
	ok, err := h.IsLoaded(requested)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("AppArmor profile %q is not loaded: load it with apparmor_parser, or use --security-opt apparmor=unconfined", requested)
	}
	return requested, nil
}

// cleanProfileName and splitCon follow moby/profiles' apparmor.go (NOTICE).

// cleanProfileName is the profile name in /proc/self/attr/current, which
// is "NAME (MODE)", a bare name, or empty for unconfined.
func cleanProfileName(con string) string {
	label, _ := splitCon(con)
	if label == "" {
		return Unconfined
	}
	return label
}

// splitCon splits "NAME (MODE)" as libapparmor does: names may hold
// spaces and parentheses, so the mode is what follows the last " (".
func splitCon(con string) (label, mode string) {
	con = strings.TrimSuffix(con, "\n")
	if con == "" || con == Unconfined {
		return con, ""
	}
	if strings.HasSuffix(con, ")") {
		if i := strings.LastIndex(con[:len(con)-1], " ("); i >= 0 {
			return con[:i], con[i+2 : len(con)-1]
		}
	}
	return con, ""
}
