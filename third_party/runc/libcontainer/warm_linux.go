package libcontainer

// This file is hako's, not upstream runc's (see ../HAKO.md, patch 15).

import "encoding/json"

// WarmUp builds encoding/json's encoders and field tables for what a
// container's start encodes and decodes in the parent: the config sent to
// the init, the sync messages and the pids read back, the state. encoding/
// json builds each by reflection the first time its type is seen, ~100 KB
// of allocations for the config alone; the init waits while the parent
// builds the config's. A program calls WarmUp on another goroutine, ahead
// of the start, so that work is off the init's path; only the first use
// of each type builds anything, so calling it again costs little.
func WarmUp() {
	_, _ = json.Marshal(&initConfig{})
	_, _ = json.Marshal(&State{})
	_, _ = json.Marshal(&syncT{})
	_ = json.Unmarshal([]byte(`{}`), &syncT{})
	_ = json.Unmarshal([]byte(`{}`), &pid{})
}
