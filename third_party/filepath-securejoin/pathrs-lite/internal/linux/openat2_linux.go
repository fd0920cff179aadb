// SPDX-License-Identifier: MPL-2.0

//go:build linux

// Copyright (C) 2024-2025 Aleksa Sarai <cyphar@cyphar.com>
// Copyright (C) 2024-2025 SUSE LLC
//
// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0. If a copy of the MPL was not distributed with this
// file, You can obtain one at https://mozilla.org/MPL/2.0/.

package linux

import (
	"golang.org/x/sys/unix"

	"github.com/cyphar/filepath-securejoin/pathrs-lite/internal/gocompat"
)

// sawOpenat2Error stores whether we have seen an error from HasOpenat2. This
// is a one-way toggle, so as soon as we see an error we "lock" into that mode.
// We cannot use sync.OnceValue to store the success/fail state once because it
// is possible for the program we are running in to apply a seccomp-bpf filter
// and thus disable openat2 during execution.
var sawOpenat2Error gocompat.Bool

// sawOpenat2Success stores whether a probe has succeeded (hako). HasOpenat2
// then answers without probing again; a caller whose openat2(2) call fails
// asks Openat2Unavailable, which probes again, before it decides between
// returning the error and taking the path without openat2 -- the decision
// upstream's per-call probe made before the call.
var sawOpenat2Success gocompat.Bool

// HasOpenat2 returns whether openat2(2) is supported on the running kernel.
var HasOpenat2 = func() bool {
	if sawOpenat2Error.Load() {
		return false
	}
	if sawOpenat2Success.Load() {
		return true
	}
	return probeOpenat2()
}

// Openat2Unavailable is called after an openat2(2) call failed. It probes
// openat2 again (not cached) and returns whether openat2 does not work (say a
// seccomp-bpf filter applied since the last probe now refuses it), in which
// case the caller takes the path it takes when HasOpenat2 is false. If it
// returns false, openat2 works and the caller returns the call's error.
var Openat2Unavailable = func() bool {
	if sawOpenat2Error.Load() {
		return true
	}
	return !probeOpenat2()
}

func probeOpenat2() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, ".", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_IN_ROOT,
	})
	if err != nil {
		sawOpenat2Error.Store(true) // doesn't matter if we race here
		return false
	}
	_ = unix.Close(fd)
	sawOpenat2Success.Store(true)
	return true
}
