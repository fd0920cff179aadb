package runccompat

import "testing"

func TestIsSlicePath(t *testing.T) {
	for p, want := range map[string]bool{
		"system.slice:cri-containerd:abc":                   true,
		"kubepods-besteffort-pod1.slice:cri-containerd:abc": true,
		"/kubepods/pod1/abc":                                false,
		"":                                                  false,
		"/a:b:c":                                            false,
		"a.slice:b":                                         false,
	} {
		if got := isSlicePath(p); got != want {
			t.Errorf("isSlicePath(%q) = %v, want %v", p, got, want)
		}
	}
}
