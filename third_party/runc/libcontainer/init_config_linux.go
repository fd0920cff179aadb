package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 4).

import (
	"github.com/opencontainers/runc/libcontainer/configs"
)

// forChild returns the config to send to the init (or setns) process: c
// itself, or, when the seccomp filter is precompiled (Seccomp.Program), a
// copy whose seccomp rules are only those the init still reads. With a
// program, InitSeccomp reads the rules only for its checks of
// SCMP_ACT_NOTIFY rules (none may be on write(2), and the kernel and
// libseccomp must support them); every other rule is compiled into the
// program already. Docker's profile is ~400 rules, 28 KB of the 45 KB of
// JSON the init decodes before it starts. c is not changed: the parent
// keeps the whole config (state.json, the seccomp agent's state).
func (c *initConfig) forChild() *initConfig {
	if c.Config == nil || c.Config.Seccomp == nil || len(c.Config.Seccomp.Program) == 0 {
		return c
	}
	var notify []*configs.Syscall
	for _, call := range c.Config.Seccomp.Syscalls {
		if call != nil && call.Action == configs.Notify {
			notify = append(notify, call)
		}
	}
	seccomp := *c.Config.Seccomp
	seccomp.Syscalls = notify
	config := *c.Config
	config.Seccomp = &seccomp
	child := *c
	child.Config = &config
	return &child
}
