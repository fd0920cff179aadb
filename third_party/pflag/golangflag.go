// Copyright 2009 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package pflag

import (
	"strings"
)

// hako: the bridge to the standard library's flag package (AddGoFlag,
// AddGoFlagSet, PFlagFromGoFlag, CopyToGoFlagSet, ParseSkippedFlags, the
// flag.Value wrapper) is gone, so flag is not imported: hako and cobra use
// none of it, and the import made every hako process run flag's package init
// and link its code and six itabs (third_party/pflag/HAKO.md).

// go test flags prefixes
func isGotestFlag(flag string) bool {
	return strings.HasPrefix(flag, "-test.")
}

func isGotestShorthandFlag(flag string) bool {
	return strings.HasPrefix(flag, "test.")
}
