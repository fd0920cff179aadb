package network

import (
	"fmt"
	"sync"
)

// hako network connect bridge CTR: a container connects to the default
// hako0 as to a user network (connect.go), with a connection entry keyed
// by the bridge's predefined ID. The entry's Network is "", as every
// hako0 member's, so network inspect bridge lists it and no hosts file
// names it (the default bridge resolves no names, as Docker's).

// BridgeID is the predefined ID of the default bridge network.
var BridgeID = sync.OnceValue(func() string { return PredefinedID("bridge") })

// BridgeDef is hako0 as a network definition, for connect and inspect.
func BridgeDef() (*Def, error) {
	cfg, err := LoadConfig(ConfigPath())
	if err != nil {
		return nil, err
	}
	return &Def{Name: "bridge", ID: BridgeID(), Subnet: cfg.Subnet, Gateway: cfg.gateway(), Bridge: BridgeName}, nil
}

// LookupAny is Lookup that also knows the default bridge, by name or ID.
func LookupAny(ref string) (*Def, error) {
	if ref == "bridge" || ref == BridgeID() {
		return BridgeDef()
	}
	return Lookup(ref)
}

// attachTarget is the network Attach connects to, with its bridge and
// rules made; entryNet is what its entries' Network holds ("" for hako0).
// Called under the state lock.
func attachTarget(cfg Config, netID string) (d *Def, entryNet string, err error) {
	if netID == BridgeID() {
		if d, err = BridgeDef(); err != nil {
			return nil, "", err
		}
		if err := ensureBridge(cfg.bridge(), fmt.Sprintf("set another \"bridge-subnet\" in %s", ConfigPath())); err != nil {
			return nil, "", err
		}
		return d, "", ensureTable(cfg.Subnet)
	}
	defs, err := LoadDefs()
	if err != nil {
		return nil, "", err
	}
	if d, err = lookupIn(defs, netID); err != nil {
		return nil, "", err
	}
	return d, d.ID, d.ensure(cfg)
}
