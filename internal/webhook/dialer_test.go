package webhook

import (
	"errors"
	"net/netip"
	"testing"
)

// addressTests lists addresses and whether the webhook dialer must refuse
// them. Public addresses are classified only, never dialled.
var addressTests = []struct {
	addr    string
	blocked bool
}{
	// Public IPv4.
	{"8.8.8.8", false},
	{"1.1.1.1", false},
	{"103.10.20.30", false},
	{"172.15.255.255", false},
	{"172.32.0.0", false},
	{"100.63.255.255", false},
	{"100.128.0.0", false},
	{"192.0.1.1", false},
	{"192.169.0.1", false},
	{"198.17.255.255", false},
	{"198.20.0.0", false},
	{"223.255.255.255", false},
	{"1.0.0.0", false},

	// Non-public IPv4.
	{"0.0.0.0", true},
	{"0.1.2.3", true},
	{"10.0.0.1", true},
	{"10.255.255.255", true},
	{"100.64.0.1", true},
	{"100.127.255.255", true},
	{"127.0.0.1", true},
	{"127.1.2.3", true},
	{"169.254.169.254", true},
	{"172.16.0.1", true},
	{"172.31.255.255", true},
	{"192.0.0.8", true},
	{"192.0.2.1", true},
	{"192.88.99.1", true},
	{"192.168.1.1", true},
	{"198.18.0.1", true},
	{"198.19.255.255", true},
	{"198.51.100.7", true},
	{"203.0.113.9", true},
	{"224.0.0.1", true},
	{"239.255.255.250", true},
	{"240.0.0.1", true},
	{"255.255.255.255", true},

	// Public IPv6.
	{"2606:4700::1111", false},
	{"2001:4860:4860::8888", false},
	{"2404:6800:4003::200e", false},
	{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
	{"2002:808:808::1", false},  // 6to4 of 8.8.8.8
	{"::ffff:8.8.8.8", false},   // IPv4-mapped 8.8.8.8
	{"::ffff:1.1.1.1", false},

	// Non-public IPv6.
	{"::", true},
	{"::1", true},
	{"::2", true},
	{"::7f00:1", true}, // IPv4-compatible 127.0.0.1
	{"fc00::1", true},
	{"fd12:3456:789a::1", true},
	{"fe80::1", true},
	{"fe80::1%eth0", true},
	{"febf:ffff::1", true},
	{"fec0::1", true},
	{"ff02::1", true},
	{"ff05::1:3", true},
	{"100::1", true},
	{"2001::1", true},      // Teredo
	{"2001:db8::1", true},  // documentation
	{"3fff::1", true},      // documentation
	{"5f00::1", true},      // SRv6
	{"64:ff9b:1::1", true}, // local-use NAT64
	{"4000::1", true},      // outside 2000::/3
	{"1::1", true},         // outside 2000::/3

	// IPv4-mapped, NAT64 and 6to4 forms of non-public IPv4.
	{"::ffff:127.0.0.1", true},
	{"::ffff:10.0.0.1", true},
	{"::ffff:169.254.169.254", true},
	{"::ffff:192.168.0.1", true},
	{"::ffff:0.0.0.0", true},
	{"::ffff:224.0.0.1", true},
	{"::ffff:100.64.0.1", true},
	{"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
	{"64:ff9b::a00:1", true},     // NAT64 of 10.0.0.1
	{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
	{"2002:7f00:1::1", true},     // 6to4 of 127.0.0.1
	{"2002:a00:1::1", true},      // 6to4 of 10.0.0.1
}

func TestAddressClassifier(t *testing.T) {
	for _, tt := range addressTests {
		addr := netip.MustParseAddr(tt.addr)
		err := CheckAddr(addr)
		if got := err != nil; got != tt.blocked {
			t.Errorf("CheckAddr(%s) = %v, want blocked=%v", tt.addr, err, tt.blocked)
			continue
		}
		if err != nil {
			var be *BlockedAddressError
			if !errors.As(err, &be) || be.Addr != addr || be.Reason == "" {
				t.Errorf("CheckAddr(%s) = %#v, want *BlockedAddressError with the address and a reason", tt.addr, err)
			}
		}
	}
}

func TestAddressInvalid(t *testing.T) {
	if err := CheckAddr(netip.Addr{}); err == nil {
		t.Error("CheckAddr(zero Addr) = nil, want refusal")
	}
}

// dialControlTests lists what the Control function sees at connect time.
var dialControlTests = []struct {
	network, address string
	blocked          bool // a *BlockedAddressError
	ok               bool
}{
	{"tcp4", "127.0.0.1:80", true, false},
	{"tcp4", "10.0.0.1:443", true, false},
	{"tcp6", "[::1]:80", true, false},
	{"tcp6", "[::ffff:127.0.0.1]:80", true, false},
	{"tcp6", "[fe80::1%eth0]:80", true, false},
	{"tcp4", "8.8.8.8:443", false, true},
	{"tcp6", "[2606:4700::1111]:443", false, true},
	{"udp4", "8.8.8.8:53", false, false},
	{"tcp4", "not-an-address", false, false},
}

func TestDialControl(t *testing.T) {
	for _, tt := range dialControlTests {
		err := control(tt.network, tt.address, nil)
		var be *BlockedAddressError
		if got := errors.As(err, &be); got != tt.blocked {
			t.Errorf("control(%s, %s) = %v, want blocked=%v", tt.network, tt.address, err, tt.blocked)
		}
		if got := err == nil; got != tt.ok {
			t.Errorf("control(%s, %s) = %v, want ok=%v", tt.network, tt.address, err, tt.ok)
		}
	}
}

func TestDialerAllowPrivate(t *testing.T) {
	if NewDialer(false).Control == nil {
		t.Error("NewDialer(false) has no Control check")
	}
	if NewDialer(true).Control != nil {
		t.Error("NewDialer(true) still checks addresses")
	}
}
