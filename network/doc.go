// Package network gives containers a network: the hako0 bridge with its
// subnet, a veth pair and an address per container in a network namespace
// hako creates, outbound NAT and published ports (-p) as nftables rules in
// hako's own table (table ip hako), or where nftables is absent the same
// rules with the iptables binary in hako's own HAKO-* chains
// (iptables.go), and the resolv.conf and hosts lines a container on the
// bridge needs.
//
// State shared by every hako process on the host (address allocations, the
// namespaces hako made) lives under Dir (/run/hako-network), changed only
// under its lock. Each container's entry names everything Setup creates
// before it is created, so Release can remove what a killed hako left.
// network knows nothing of images or of hako's container records.
package network
