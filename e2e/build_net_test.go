package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestBuildRunBridge: a RUN step without --network is on the default
// bridge, as Docker's, and reaches another host through hako's NAT (the
// `pip install` case): it fetches a page from a server in the test's peer
// namespace, and the page lands in the image. --network none cuts it off.
func TestBuildRunBridge(t *testing.T) {
	s := runStore(t)
	n := newTestNet(t)
	l, err := listenIn(n.peer, peerAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "served to %s\n", strings.Split(r.RemoteAddr, ":")[0])
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + l.Addr().String() + "/"

	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + busybox.ref + "\nRUN wget -q -O /page " + url + "\nCMD [\"cat\", \"/page\"]\n",
	})
	out, errOut, code := n.hako(t, s, "build", "-q", "-t", "fetched", dir)
	if code != 0 {
		t.Fatalf("build with a RUN reaching another host: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The peer sees the test host's address: the RUN container was NATed.
	if got, _, _ := n.hako(t, s, "run", "--rm", "--network", "none", "fetched"); got != "served to "+hostAddr+"\n" {
		t.Errorf("the page the RUN step fetched: %q, want it served to %s", got, hostAddr)
	}
	dir2 := writeContext(t, map[string]string{
		"Dockerfile": "FROM " + busybox.ref + "\nRUN wget -q -T 2 -O /page " + url + "\n",
	})
	if _, errOut, code := n.hako(t, s, "build", "--network", "none", dir2); code != 1 || !strings.Contains(errOut, "Dockerfile:2") {
		t.Errorf("build --network none reaching out: exit %d, stderr %q; want 1 naming line 2", code, errOut)
	}
	n.checkClean(t)
}
