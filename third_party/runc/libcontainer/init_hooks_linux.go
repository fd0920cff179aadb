package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 7).

import (
	"fmt"

	"github.com/opencontainers/runc/libcontainer/configs"
)

// hooksBeforePivot tells whether a hook runs between the init's procHooks
// and its pivot_root: the parent's prestart and createRuntime hooks (which
// may use the old root, and whose end the init waits for) and the
// createContainer hooks the init runs itself (which must find the cgroup
// limits set). The parent asks on its whole config: a function hook (as
// hako's --debug narration adds) is never sent to the init.
func hooksBeforePivot(c *configs.Config) bool {
	return c.HasHook(configs.Prestart, configs.CreateRuntime, configs.CreateContainer)
}

// syncParentHooksStart is syncParentHooks in two halves when the parent
// said no hook runs before pivot_root (initConfig.LateHooksDone): it sends
// procHooks and returns a function that waits for procHooksDone, which the
// init calls before it opens a device or sets its scheduling (the parent
// writes the cgroup limits, device rules included, before it sends
// procHooksDone). The init so makes its pivot_root, read-only and masked
// paths while the parent writes the limits, instead of after. The messages
// and their order are upstream's; only the init's wait moves. Otherwise it
// waits at once and returns nil.
func syncParentHooksStart(pipe *syncSocket, late bool) (wait func() error, err error) {
	if !late {
		return nil, syncParentHooks(pipe)
	}
	if err := writeSync(pipe, procHooks); err != nil {
		return nil, err
	}
	return func() error { return readSync(pipe, procHooksDone) }, nil
}

// afterLateHooks returns what the init does once procHooksDone comes when
// it left that wait for later (wait is not nil): the wait, then, when it
// set up /dev, the reopening of /dev/null, a device the rules must allow.
func afterLateHooks(wait func() error, setupDev bool) func() error {
	if wait == nil {
		return nil
	}
	return func() error {
		if err := wait(); err != nil {
			return err
		}
		if setupDev {
			if err := reOpenDevNull(); err != nil {
				return fmt.Errorf("error reopening /dev/null inside container: %w", err)
			}
		}
		return nil
	}
}

// finishHooks runs c.afterHooks, once: before the init opens a device
// (the console's) or sets its scheduler, I/O priority and memory policy
// (which the cpuset and blkio limits may restrict). The steps between
// prepareRootfs and then (read-only and masked paths, hostname, AppArmor,
// sysctls, no_new_privs) open no device (masked paths bind /dev/null
// through an O_PATH handle), depend on no cgroup limit and run nothing of
// the container's.
func (c *initConfig) finishHooks() error {
	f := c.afterHooks
	c.afterHooks = nil
	if f == nil {
		return nil
	}
	return f()
}
