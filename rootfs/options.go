package rootfs

import "slices"

// OverlayOptions are the options hako mounts every overlay with, besides
// its directories (for hako --debug).
func OverlayOptions() []string { return slices.Clone(overlayFixedOpts) }
