package webhook

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// BlockedAddressError is returned, wrapped in the dial error, when the
// dialer refuses to connect to an address that is not public. Callers find
// it with errors.As and record the attempt as "refused: private address".
type BlockedAddressError struct {
	// Addr is the resolved address the connection would have gone to,
	// as the operating system would have seen it (an IPv4-mapped IPv6
	// address stays mapped here).
	Addr netip.Addr
	// Reason names the range the address fell in, e.g. "loopback".
	Reason string
}

// Error reports the refused address and why it was refused.
func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("refused: private address %s (%s)", e.Addr, e.Reason)
}

// blockedPrefix is one range of addresses the dialer refuses.
type blockedPrefix struct {
	prefix netip.Prefix
	reason string
}

// blockedV4 lists the IPv4 ranges that webhooks may not reach: the
// special-purpose ranges of the IANA IPv4 Special-Purpose Address Registry
// (RFC 6890 and successors) that are not globally reachable, plus
// multicast and the reserved class E space.
var blockedV4 = []blockedPrefix{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},                 // RFC 791; includes 0.0.0.0
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},                     // RFC 1918
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space"},     // RFC 6598, carrier-grade NAT
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},                   // RFC 1122
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},              // RFC 3927; cloud metadata lives here
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},                  // RFC 1918
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"}, // RFC 6890
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},             // RFC 5737 TEST-NET-1
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},      // RFC 7526, deprecated
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},                 // RFC 1918
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},             // RFC 2544
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},          // RFC 5737 TEST-NET-2
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},           // RFC 5737 TEST-NET-3
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},                  // RFC 5771
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},                   // RFC 1112; includes 255.255.255.255
}

// blockedV6 lists the IPv6 ranges that webhooks may not reach. IPv6
// addresses outside 2000::/3 (global unicast) are refused in any case,
// except NAT64 (64:ff9b::/96), which is judged by the IPv4 address it
// embeds; this list names the ranges so that refusals say why.
var blockedV6 = []blockedPrefix{
	{netip.MustParsePrefix("::/128"), "unspecified"},                  // RFC 4291
	{netip.MustParsePrefix("::1/128"), "loopback"},                    // RFC 4291
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},               // RFC 4291, deprecated
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},      // RFC 8215
	{netip.MustParsePrefix("100::/64"), "discard-only"},               // RFC 6666
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments"}, // RFC 2928; includes Teredo 2001::/32
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},         // RFC 3849
	{netip.MustParsePrefix("3fff::/20"), "documentation"},             // RFC 9637
	{netip.MustParsePrefix("5f00::/16"), "segment routing"},           // RFC 9602
	{netip.MustParsePrefix("fc00::/7"), "private"},                    // RFC 4193 unique local
	{netip.MustParsePrefix("fe80::/10"), "link-local"},                // RFC 4291
	{netip.MustParsePrefix("fec0::/10"), "site-local"},                // RFC 3879, deprecated
	{netip.MustParsePrefix("ff00::/8"), "multicast"},                  // RFC 4291
}

var (
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	nat64V6         = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known prefix
	sixToFourV6     = netip.MustParsePrefix("2002::/16")    // RFC 3056
)

// blockedReason classifies addr: it returns "" when addr is a public
// address a webhook may reach, and otherwise the name of the range that
// makes it non-public. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), NAT64
// addresses (64:ff9b::a.b.c.d) and 6to4 addresses (2002:aabb:ccdd::/48)
// are judged by the IPv4 address they carry. Zones are ignored.
func blockedReason(addr netip.Addr) string {
	if !addr.IsValid() {
		return "invalid"
	}
	addr = addr.WithZone("")
	if addr.Is4In6() {
		if r := blockedReason(addr.Unmap()); r != "" {
			return "IPv4-mapped " + r
		}
		return ""
	}
	if addr.Is4() {
		for _, b := range blockedV4 {
			if b.prefix.Contains(addr) {
				return b.reason
			}
		}
		return ""
	}
	for _, b := range blockedV6 {
		if b.prefix.Contains(addr) {
			return b.reason
		}
	}
	a16 := addr.As16()
	switch {
	case nat64V6.Contains(addr):
		v4 := netip.AddrFrom4([4]byte{a16[12], a16[13], a16[14], a16[15]})
		if r := blockedReason(v4); r != "" {
			return "NAT64 " + r
		}
		return ""
	case sixToFourV6.Contains(addr):
		v4 := netip.AddrFrom4([4]byte{a16[2], a16[3], a16[4], a16[5]})
		if r := blockedReason(v4); r != "" {
			return "6to4 " + r
		}
		return ""
	case !globalUnicastV6.Contains(addr):
		return "reserved"
	}
	return ""
}

// CheckAddr returns a *BlockedAddressError when addr is not a public
// address a webhook may reach, and nil otherwise.
func CheckAddr(addr netip.Addr) error {
	if r := blockedReason(addr); r != "" {
		return &BlockedAddressError{Addr: addr, Reason: r}
	}
	return nil
}

// NewDialer returns a dialer for webhook deliveries. Unless allowPrivate
// is set, its Control function refuses, after DNS resolution and just
// before connecting, every address CheckAddr refuses, so a host name that
// resolves (or re-resolves, DNS rebinding) to a private address is caught.
// allowPrivate is for --webhook-allow-private: tests and development only.
func NewDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	if !allowPrivate {
		d.Control = control
	}
	return d
}

// control is the net.Dialer Control function that refuses non-public
// addresses. It sees the resolved "ip:port" the socket is about to connect
// to; anything it cannot parse is refused too.
func control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("refused: network %q", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused: unparsable address %q: %v", address, err)
	}
	return CheckAddr(ap.Addr())
}
