package image

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestRunConfig(t *testing.T) {
	img := &Image{Config: &v1.ConfigFile{Config: v1.Config{
		User:         "app:staff",
		ExposedPorts: map[string]struct{}{"80/tcp": {}},
		Env:          []string{"PATH=/bin", "A=1"},
		Entrypoint:   []string{"/entry"},
		Cmd:          []string{"serve", "-v"},
		Volumes:      map[string]struct{}{"/data": {}},
		WorkingDir:   "/srv",
		Labels:       map[string]string{"org.example": "yes"},
		StopSignal:   "SIGQUIT",
		Hostname:     "ignored", // not the image's to set
	}}}
	want := ocispec.ImageConfig{
		User:         "app:staff",
		ExposedPorts: map[string]struct{}{"80/tcp": {}},
		Env:          []string{"PATH=/bin", "A=1"},
		Entrypoint:   []string{"/entry"},
		Cmd:          []string{"serve", "-v"},
		Volumes:      map[string]struct{}{"/data": {}},
		WorkingDir:   "/srv",
		Labels:       map[string]string{"org.example": "yes"},
		StopSignal:   "SIGQUIT",
	}
	got := img.RunConfig()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RunConfig:\n got %+v\nwant %+v", got, want)
	}
	// A copy: the caller may change it.
	got.Env[0] = "PATH=/changed"
	got.Volumes["/other"] = struct{}{}
	if img.Config.Config.Env[0] != "PATH=/bin" || len(img.Config.Config.Volumes) != 1 {
		t.Error("changing the RunConfig changed the image's config")
	}
	if got := (&Image{}).RunConfig(); !reflect.DeepEqual(got, ocispec.ImageConfig{}) {
		t.Errorf("no config: %+v", got)
	}
}
