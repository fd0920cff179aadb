package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hako-run/hako/network"
)

// ContainerNetworkPrefix starts --network container:NAME|ID.
const ContainerNetworkPrefix = "container:"

// JoinedNetwork is the network of another container that a container joins.
type JoinedNetwork struct {
	ID       string // the other container's
	NetNS    string // the path of its network namespace
	Hostname string // its host name, which the joining container takes, as in Docker
}

// NetworkOf finds the running container ref for --network container:ref
// and returns its network: the bind-mounted namespace of a bridged
// container, else its init's.
func NetworkOf(root, ref string) (*JoinedNetwork, error) {
	info, err := FindContainer(root, ref)
	if err != nil {
		return nil, err
	}
	id, ns, err := networkOf(info)
	if err != nil {
		return nil, err
	}
	j := &JoinedNetwork{ID: id, NetNS: ns}
	if info.Spec != nil {
		j.Hostname = info.Spec.Hostname
	}
	return j, nil
}

func networkOf(info *Info) (id, nsPath string, err error) {
	if !info.State.Running || info.State.Pid == 0 {
		return "", "", fmt.Errorf("cannot join network of a non running container: %s", info.ID)
	}
	if n := info.Network; n != nil && n.Mode == "bridge" {
		return info.ID, filepath.Join(network.Dir(), "netns", info.ID), nil
	}
	if sp := info.Spec; sp != nil && sp.Linux != nil && !hasNetworkNamespace(info) {
		return "", "", fmt.Errorf("container %s shares the host's network: use --network host", info.ID)
	}
	// Its live init's namespace, even when it joined another container's
	// itself: a path recorded then may name a reused pid by now.
	return info.ID, "/proc/" + strconv.Itoa(info.State.Pid) + "/ns/net", nil
}

func hasNetworkNamespace(info *Info) bool {
	for _, ns := range info.Spec.Linux.Namespaces {
		if ns.Type == "network" {
			return true
		}
	}
	return false
}

// joinedContainer is the ID of the container whose network this one joins
// (--network container:ID), or "".
func (r *Record) joinedContainer() string {
	if r.Network == nil {
		return ""
	}
	id, _ := strings.CutPrefix(r.Network.Mode, ContainerNetworkPrefix)
	if id == r.Network.Mode {
		return ""
	}
	return id
}

// copyJoinedFiles gives a container that joins another's network that
// container's hosts, resolv.conf and hostname, as Docker does.
func (c *Container) copyJoinedFiles(root, other string, o *SpecOptions) error {
	src := filepath.Join(containersDir(root), other)
	for _, f := range []struct {
		name string
		dst  *string
	}{{"hosts", &o.HostsPath}, {"resolv.conf", &o.ResolvConfPath}, {"hostname", &o.HostnamePath}} {
		b, err := os.ReadFile(filepath.Join(src, f.name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s of container %s: %w", f.name, other, err)
		}
		p := filepath.Join(c.dir, f.name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
		*f.dst = p
	}
	return nil
}
