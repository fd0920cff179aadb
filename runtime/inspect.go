package runtime

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hako-run/hako/network"
)

// ContainerInspect is `hako inspect CONTAINER`, in the shape of Docker's
// (the fields hako has), plus a Hako block with what a learner wants to
// see: the monitor, the cgroup, the container's directories.
type ContainerInspect struct {
	ID           string            `json:"Id"`
	Created      time.Time         `json:"Created"`
	Path         string            `json:"Path"`
	Args         []string          `json:"Args"`
	State        InspectState      `json:"State"`
	Image        string            `json:"Image"`
	LogPath      string            `json:"LogPath"`
	Name         string            `json:"Name"`
	RestartCount int               `json:"RestartCount"`
	HostConfig   InspectHostConfig `json:"HostConfig"`
	Config       InspectConfig     `json:"Config"`
	// AppArmorProfile is the profile the container runs under ("": none).
	AppArmorProfile string                 `json:"AppArmorProfile"`
	NetworkSettings InspectNetworkSettings `json:"NetworkSettings"`
	Hako            InspectHako            `json:"Hako"`
}

// InspectNetworkSettings is Docker's NetworkSettings block (bridge only).
type InspectNetworkSettings struct {
	IPAddress   string                   `json:"IPAddress"`
	IPPrefixLen int                      `json:"IPPrefixLen"`
	Gateway     string                   `json:"Gateway"`
	Ports       map[string][]PortBinding `json:"Ports"`
	// Networks has the container's network by name (bridge or a user
	// network's), as Docker's; a user network's address is only here.
	Networks map[string]InspectEndpoint `json:"Networks"`
}

// InspectEndpoint is one of Docker's NetworkSettings.Networks.
type InspectEndpoint struct {
	NetworkID   string   `json:"NetworkID"`
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	Gateway     string   `json:"Gateway"`
	Aliases     []string `json:"Aliases"`
	// An IPv6 network's (network create --ipv6).
	GlobalIPv6Address   string `json:"GlobalIPv6Address"`
	GlobalIPv6PrefixLen int    `json:"GlobalIPv6PrefixLen"`
	IPv6Gateway         string `json:"IPv6Gateway"`
}

// PortBinding is one host side of a published port, as Docker shows it.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// InspectState is Docker's State block.
type InspectState struct {
	Status     string    `json:"Status"`
	Running    bool      `json:"Running"`
	Paused     bool      `json:"Paused"`
	Restarting bool      `json:"Restarting"`
	OOMKilled  bool      `json:"OOMKilled"`
	Dead       bool      `json:"Dead"`
	Pid        int       `json:"Pid"`
	ExitCode   int       `json:"ExitCode"`
	Error      string    `json:"Error"`
	StartedAt  time.Time `json:"StartedAt"`
	FinishedAt time.Time `json:"FinishedAt"`
	MonitorPid int       `json:"MonitorPid"` // hako's: 0 when no monitor is alive
}

// InspectHostConfig is the part of Docker's HostConfig hako has.
type InspectHostConfig struct {
	LogConfig      LogConfig     `json:"LogConfig"`
	RestartPolicy  RestartPolicy `json:"RestartPolicy"`
	AutoRemove     bool          `json:"AutoRemove"`
	NetworkMode    string        `json:"NetworkMode"`
	ReadonlyRootfs bool          `json:"ReadonlyRootfs"`
}

// InspectConfig is the part of Docker's Config hako has.
type InspectConfig struct {
	Hostname   string            `json:"Hostname"`
	User       string            `json:"User"`
	Tty        bool              `json:"Tty"`
	Env        []string          `json:"Env"`
	Cmd        []string          `json:"Cmd"`
	Image      string            `json:"Image"`
	WorkingDir string            `json:"WorkingDir"`
	Labels     map[string]string `json:"Labels"`
	StopSignal string            `json:"StopSignal,omitempty"`
}

// InspectHako is what hako adds: where the container lives on the host.
type InspectHako struct {
	MonitorPid  int    `json:"MonitorPid"`
	Dir         string `json:"Dir"`
	Rootfs      string `json:"Rootfs"`
	UpperDir    string `json:"UpperDir"`
	CgroupsPath string `json:"CgroupsPath"`
}

// Inspect describes the container in Docker's shape.
func (i *Info) Inspect() ContainerInspect {
	s := i.State
	ci := ContainerInspect{
		ID: i.ID, Created: i.Created, Image: i.ImageID, Name: "/" + i.Name, LogPath: i.LogPath(),
		State: InspectState{
			Status: s.Status, Running: s.Running, Restarting: s.Restarting, Paused: s.Paused, Pid: s.Pid, ExitCode: s.ExitCode,
			StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, MonitorPid: s.MonitorPID,
		},
		HostConfig: InspectHostConfig{AutoRemove: i.Remove, NetworkMode: "none", LogConfig: LogConfig{Type: "none"}},
		Config:     InspectConfig{Image: i.Image, Labels: i.Labels, StopSignal: i.StopSignal},
		Hako: InspectHako{
			MonitorPid: s.MonitorPID, Dir: i.Dir,
			Rootfs: filepath.Join(i.Dir, mergedDir), UpperDir: filepath.Join(i.Dir, upperDir),
		},
	}
	if i.VFS() {
		ci.Hako.UpperDir = "" // the rootfs is a plain copy: no upper dir
	}
	if i.Log != nil {
		ci.HostConfig.LogConfig = *i.Log
	}
	ci.HostConfig.RestartPolicy = RestartPolicy{Name: "no"}
	if i.Restart != nil {
		ci.HostConfig.RestartPolicy = *i.Restart
	}
	ci.RestartCount = i.RestartCount()
	if sp := i.Spec; sp != nil {
		if p := sp.Process; p != nil {
			if len(p.Args) > 0 {
				ci.Path, ci.Args = p.Args[0], p.Args[1:]
			}
			ci.Config.Cmd, ci.Config.Env, ci.Config.Tty, ci.Config.WorkingDir = p.Args, p.Env, p.Terminal, p.Cwd
			if p.User.UID != 0 || p.User.GID != 0 {
				ci.Config.User = strconv.FormatUint(uint64(p.User.UID), 10) + ":" + strconv.FormatUint(uint64(p.User.GID), 10)
			}
		}
		ci.Config.Hostname = sp.Hostname
		if sp.Root != nil {
			ci.HostConfig.ReadonlyRootfs = sp.Root.Readonly
		}
		if sp.Linux != nil {
			ci.Hako.CgroupsPath = sp.Linux.CgroupsPath
			ci.HostConfig.NetworkMode = "host"
			for _, ns := range sp.Linux.Namespaces {
				if ns.Type == "network" {
					ci.HostConfig.NetworkMode = "none"
				}
			}
		}
	}
	ci.AppArmorProfile = i.AppArmorProfile
	ci.NetworkSettings.Ports = map[string][]PortBinding{}
	ci.NetworkSettings.Networks = map[string]InspectEndpoint{}
	if n := i.Network; n != nil {
		ci.HostConfig.NetworkMode = n.Mode
		if n.NetworkName != "" {
			ci.HostConfig.NetworkMode = n.NetworkName
		}
		if s.Running {
			if n.NetworkName == "" {
				ci.NetworkSettings.IPAddress, ci.NetworkSettings.IPPrefixLen, ci.NetworkSettings.Gateway = n.Address, n.PrefixLen, n.Gateway
			}
			if n.Mode == "bridge" {
				id := n.NetworkID
				if id == "" {
					id = network.PredefinedID("bridge")
				}
				ci.NetworkSettings.Networks[ci.HostConfig.NetworkMode] = InspectEndpoint{NetworkID: id,
					IPAddress: n.Address, IPPrefixLen: n.PrefixLen, Gateway: n.Gateway, Aliases: n.Aliases,
					GlobalIPv6Address: n.Address6, GlobalIPv6PrefixLen: n.PrefixLen6, IPv6Gateway: n.Gateway6}
			}
			for _, p := range n.Ports {
				k := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
				ip := "0.0.0.0"
				if p.HostIP.IsValid() {
					ip = p.HostIP.String()
				}
				ci.NetworkSettings.Ports[k] = append(ci.NetworkSettings.Ports[k], PortBinding{HostIP: ip, HostPort: strconv.Itoa(int(p.HostPort))})
			}
		}
	}
	i.addConnections(&ci) // hako network connect's (connect.go)
	if ci.Args == nil {
		ci.Args = []string{}
	}
	return ci
}
