package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 15).

import "testing"

func TestWarmUp(t *testing.T) {
	WarmUp()
	WarmUp()
}
