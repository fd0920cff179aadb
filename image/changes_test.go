package image

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestApplyChanges(t *testing.T) {
	cfg := v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin", "A=1"}, WorkingDir: "/srv"}
	err := ApplyChanges(&cfg, []string{
		`ENTRYPOINT /app --flag`,
		`env A=2 B="two words" C=x\ y`,
		`ENV LEGACY some value`,
		`LABEL org.x="y z" k=v`,
		`EXPOSE 80 53/UDP`,
		`WORKDIR sub`,
		`USER 1000:1000`,
		`VOLUME ["/data"]`,
		`STOPSIGNAL SIGINT`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Entrypoint:   []string{"/bin/sh", "-c", "/app --flag"},
		Env:          []string{"PATH=/bin", "A=2", "B=two words", "C=x y", "LEGACY=some value"},
		Labels:       map[string]string{"org.x": "y z", "k": "v"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}},
		WorkingDir:   "/srv/sub",
		User:         "1000:1000",
		Volumes:      map[string]struct{}{"/data": {}},
		StopSignal:   "SIGINT",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
	// A CMD in the same commit survives a later ENTRYPOINT.
	cfg = v1.Config{}
	if err := ApplyChanges(&cfg, []string{`CMD ["a","b"]`, `ENTRYPOINT ["e"]`}); err != nil || !reflect.DeepEqual(cfg.Cmd, []string{"a", "b"}) {
		t.Errorf("CMD then ENTRYPOINT: %v %q", err, cfg.Cmd)
	}
	for _, bad := range []string{"FROM x", "RUN true", "ENV", `LABEL a="open`, "ENV =v x=y"} {
		if err := ApplyChanges(&v1.Config{}, []string{bad}); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
