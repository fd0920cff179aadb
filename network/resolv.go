package network

import (
	"bytes"
	"net/netip"
	"os"
	"strings"
)

// systemd-resolved's stub listener and the file with its real upstream
// servers, which Docker uses instead.
const (
	resolvedStub = "127.0.0.53"
	resolvedConf = "/run/systemd/resolve/resolv.conf"
)

// HostResolvConf is the resolv.conf for a container with its own network:
// the host's, as Docker builds it (see ResolvConf).
func HostResolvConf() []byte {
	host, _ := os.ReadFile("/etc/resolv.conf")
	resolved, _ := os.ReadFile(resolvedConf)
	return ResolvConf(host, resolved)
}

// ResolvConf turns the host's resolv.conf into a container's, as Docker
// does: with the systemd-resolved stub (127.0.0.53) the upstream servers of
// resolved's own file are used instead; nameservers on loopback (which the
// container cannot reach) are dropped; with none left, Google's public
// servers are named, Docker's default.
func ResolvConf(host, resolved []byte) []byte {
	if len(resolved) > 0 && hasNameserver(host, resolvedStub) {
		host = resolved
	}
	var out bytes.Buffer
	servers := 0
	for _, line := range strings.SplitAfter(string(host), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			a, err := netip.ParseAddr(f[1])
			if err == nil && a.IsLoopback() {
				continue
			}
			servers++
		}
		out.WriteString(line)
	}
	if b := out.Bytes(); len(b) > 0 && b[len(b)-1] != '\n' {
		out.WriteByte('\n')
	}
	if servers == 0 {
		out.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return out.Bytes()
}

func hasNameserver(conf []byte, addr string) bool {
	for _, line := range strings.Split(string(conf), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" && f[1] == addr {
			return true
		}
	}
	return false
}

// WithDNS applies --dns, --dns-search and --dns-option to a container's
// resolv.conf as Docker does: each one given replaces that part of conf
// (nameservers, the search line, the options line); a search domain of
// "." means no search line.
func WithDNS(conf []byte, servers, search, options []string) []byte {
	if len(servers) == 0 && len(search) == 0 && len(options) == 0 {
		return conf
	}
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(conf), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "nameserver" && len(servers) > 0 ||
			(f[0] == "search" || f[0] == "domain") && len(search) > 0 ||
			f[0] == "options" && len(options) > 0) {
			continue
		}
		out.WriteString(line)
	}
	if b := out.Bytes(); len(b) > 0 && b[len(b)-1] != '\n' {
		out.WriteByte('\n')
	}
	for _, s := range servers {
		out.WriteString("nameserver " + s + "\n")
	}
	if len(search) > 0 && !(len(search) == 1 && search[0] == ".") {
		out.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	if len(options) > 0 {
		out.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return out.Bytes()
}
