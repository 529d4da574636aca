package source

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Policy says which sources a caller may open. The zero value is the strict
// one an exposed API should use: public network addresses only, no local
// files or devices.
//
// Link-local addresses (169.254.0.0/16, fe80::/10) and cloud metadata
// endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200), in any
// spelling including IPv4-mapped IPv6, are refused under every policy,
// Unrestricted included: a video source has no business there, and the
// metadata service hands out the host's cloud credentials.
type Policy struct {
	// AllowPrivate permits hosts that are or resolve to loopback, private
	// (RFC 1918, fc00::/7, 100.64/10) or unspecified addresses. Names are
	// still resolved, to refuse the link-local and metadata addresses.
	AllowPrivate bool
	// AllowFiles permits local files and webcams.
	AllowFiles bool
}

// Unrestricted allows everything: for the CLI and trusted operators.
var Unrestricted = Policy{AllowPrivate: true, AllowFiles: true}

// HostResolver looks up a host's addresses; *net.Resolver satisfies it.
type HostResolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Check reports whether spec may be opened under p, resolving its host with
// dns (net.DefaultResolver when nil).
//
// It is a guard against users pointing the service at internal hosts, not a
// sandbox: FFmpeg resolves the name again when it connects (a DNS answer can
// change in between) and follows HTTP redirects on its own.
func (p Policy) Check(ctx context.Context, spec Spec, dns HostResolver) error {
	switch spec.Kind {
	case File, Webcam:
		if !p.AllowFiles {
			return fmt.Errorf("source %s: local files and devices are not allowed here: %w", spec, ErrNotAllowed)
		}
		return nil
	case YouTube:
		// The YouTube client only talks to YouTube's fixed hosts; what it
		// resolves to is checked with CheckURL.
		return nil
	}
	if err := p.CheckURL(ctx, spec.Location, dns); err != nil {
		return fmt.Errorf("source %s: %w", spec, err)
	}
	return nil
}

// CheckURL applies the address rules to one network URL.
func (p Policy) CheckURL(ctx context.Context, rawURL string, dns HostResolver) error {
	host := hostOf(rawURL)
	if host == "" {
		return fmt.Errorf("URL %s has no host: %w", Redact(rawURL), ErrInvalid)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return p.checkAddr(addr, "host "+host+" is")
	}
	// getaddrinfo, which FFmpeg uses, reads "127.1", "2130706433" or
	// "0x7f.0.0.1" as IPv4 addresses, while Go's resolver sees names.
	if legacyIPv4(host) {
		addr, ok := inetAton(host)
		what := fmt.Sprintf("host %s (%s) is", host, addr)
		if ok && neverAllowed(addr) != "" {
			return p.checkAddr(addr, what)
		}
		if !p.AllowPrivate {
			return fmt.Errorf("host %s is a numeric address in a non-standard form: %w", host, ErrNotAllowed)
		}
		if ok {
			return p.checkAddr(addr, what)
		}
	}
	if !p.AllowPrivate && (strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost")) {
		return fmt.Errorf("host %s is a loopback name: %w", host, ErrNotAllowed)
	}
	if dns == nil {
		dns = net.DefaultResolver
	}
	addrs, err := dns.LookupIPAddr(ctx, host)
	if (err != nil || len(addrs) == 0) && p.AllowPrivate {
		// A trusted deployment may name a camera that is offline now; a
		// name that resolves to nothing reaches nothing, and opening the
		// source checks again.
		return nil
	}
	if err != nil {
		return fmt.Errorf("resolve host %s: %v: %w", host, err, ErrUnavailable) //nolint:errorlint // the kind is what callers match, not the cause
	}
	if len(addrs) == 0 {
		return fmt.Errorf("resolve host %s: no addresses: %w", host, ErrUnavailable)
	}
	// Any bad address refuses the host: the connection may use any of them.
	usable := 0
	for _, a := range addrs {
		addr, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		usable++
		if err := p.checkAddr(addr, fmt.Sprintf("host %s resolves to %s,", host, addr.Unmap())); err != nil {
			return err
		}
	}
	if usable == 0 {
		return fmt.Errorf("resolve host %s: no usable addresses in %v: %w", host, addrs, ErrUnavailable)
	}
	return nil
}

// checkAddr refuses addr if p does not allow it; what names the address in
// the error.
func (p Policy) checkAddr(addr netip.Addr, what string) error {
	if reason := neverAllowed(addr); reason != "" {
		return fmt.Errorf("%s a %s address, and link-local/metadata addresses are never allowed: %w", what, reason, ErrNotAllowed)
	}
	if p.AllowPrivate {
		return nil
	}
	if reason := blocked(addr); reason != "" {
		return fmt.Errorf("%s a %s address: %w", what, reason, ErrNotAllowed)
	}
	return nil
}

// metadataAddrs are cloud instance-metadata endpoints outside 169.254/16:
// AWS's IPv6 one and Alibaba Cloud's.
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("fd00:ec2::254"):   true,
	netip.MustParseAddr("100.100.100.200"): true,
}

// nat64 is the well-known NAT64 prefix, whose last 32 bits are an IPv4
// address the gateway connects to.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// neverAllowed names the class of an address no policy allows, or "".
func neverAllowed(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if b := a.As16(); a.Is6() && (nat64.Contains(a) || [12]byte(b[:12]) == [12]byte{}) {
		// NAT64 and IPv4-compatible spellings of an IPv4 address.
		if reason := neverAllowed(netip.AddrFrom4([4]byte(b[12:]))); reason != "" {
			return reason
		}
	}
	switch {
	case metadataAddrs[a] || a == netip.AddrFrom4([4]byte{169, 254, 169, 254}):
		return "cloud metadata"
	case a.IsLinkLocalUnicast():
		return "link-local"
	}
	return ""
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // routes to the local host on Linux
	sharedCGNAT = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, internal by intent
)

// blocked names the class of a non-public address, or "" for a public one.
func blocked(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate() || sharedCGNAT.Contains(a):
		return "private"
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return "link-local"
	}
	return ""
}

// legacyIPv4 reports whether host is one of the numeric IPv4 spellings
// inet_aton accepts (1 to 4 parts, decimal, octal or hex).
func legacyIPv4(host string) bool {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		if _, err := strconv.ParseUint(p, 0, 32); err != nil {
			return false
		}
	}
	return true
}

// inetAton parses host as inet_aton does: 1 to 4 parts, each decimal, octal
// (leading 0) or hex (0x), the last filling the remaining bytes. ok is false
// where inet_aton would fail, leaving the host to the name resolver.
func inetAton(host string) (addr netip.Addr, ok bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, digits = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		// ParseUint with an explicit base takes no sign, prefix or '_'.
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	last := len(vals) - 1
	for _, v := range vals[:last] {
		if v > 0xff {
			return netip.Addr{}, false
		}
	}
	if vals[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	n := vals[last]
	for i, v := range vals[:last] {
		n |= v << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
