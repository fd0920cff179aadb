package runtime

import "github.com/hako-run/hako/apparmor"

// chooseAppArmor picks the container's AppArmor profile for this host from
// the user's request (Docker's rules, apparmor.Choose), loading hako-default
// when needed. It also returns the --debug text saying what was chosen.
func chooseAppArmor(cfg Config) (profile, debug string, err error) {
	h := cfg.AppArmor
	if h == nil {
		h = apparmor.NewHost(cfg.RunRoot)
	}
	requested := cfg.Options.AppArmorProfile
	profile, err = h.Choose(requested, cfg.Options.Privileged)
	switch {
	case err != nil:
		return "", "", err
	case profile != "":
		return profile, profile, nil
	case requested != "":
		// As Docker: the request is dropped without a word, but --debug tells.
		return "", "none, AppArmor is not enabled on this host; apparmor=" + requested + " ignored", nil
	}
	return "", "none, AppArmor is not enabled on this host", nil
}
