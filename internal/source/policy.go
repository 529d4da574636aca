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
type Policy struct {
	// AllowPrivate permits hosts that are or resolve to loopback, private
	// (RFC 1918, fc00::/7, 100.64/10), link-local or unspecified addresses.
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
	if p.AllowPrivate {
		return nil
	}
	host := hostOf(rawURL)
	if host == "" {
		return fmt.Errorf("URL %s has no host: %w", Redact(rawURL), ErrInvalid)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if reason := blocked(addr); reason != "" {
			return fmt.Errorf("host %s is a %s address: %w", host, reason, ErrNotAllowed)
		}
		return nil
	}
	// getaddrinfo, which FFmpeg uses, reads "127.1", "2130706433" or
	// "0x7f.0.0.1" as IPv4 addresses, while Go's resolver sees names.
	if legacyIPv4(host) {
		return fmt.Errorf("host %s is a numeric address in a non-standard form: %w", host, ErrNotAllowed)
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return fmt.Errorf("host %s is a loopback name: %w", host, ErrNotAllowed)
	}
	if dns == nil {
		dns = net.DefaultResolver
	}
	addrs, err := dns.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve host %s: %v: %w", host, err, ErrUnavailable)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("resolve host %s: no addresses: %w", host, ErrUnavailable)
	}
	// Any bad address refuses the host: the connection may use any of them.
	for _, a := range addrs {
		addr, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		if reason := blocked(addr); reason != "" {
			return fmt.Errorf("host %s resolves to %s, a %s address: %w", host, addr.Unmap(), reason, ErrNotAllowed)
		}
	}
	return nil
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
