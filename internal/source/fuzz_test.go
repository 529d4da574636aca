package source

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var parseSeeds = []string{
	"/data/clips/a.mp4",
	"  ./clips/../a.avi ",
	"relative.mkv",
	"file:///data/a%20b.mp4",
	"file://localhost/data/a.mp4",
	"/dev/video0",
	"/dev/v4l/by-id/usb-cam-video-index0",
	"webcam:3",
	"rtsp://user:pw@cam.example.com:554/stream1",
	"rtmps://live.example.com/app/key",
	"https://cdn.example.com/live/index.m3u8?token=abc",
	"hls+https://cdn.example.com/playlist?id=7",
	"http://[2001:db8::1]:8080/stream.ts",
	"http://[fe80::1%25eth0]/a.mp4",
	"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s",
	"youtu.be/dQw4w9WgXcQ",
	"https://youtube.com/shorts/abcdefghijk",
	"http://example.com:99999/a.mp4",
	"http:example.com/a.mp4",
	"javascript:alert(1)",
	"./rtsp://169.254.169.254/x",
	"a/../http:/169.254.169.254/latest/meta-data",
	"/dev/../dev/video1",
	"webcam:4294967296",
	"http://u:secret@host.example/a.mp4?" + strings.Repeat("sig=x&", 20),
}

// FuzzParse checks that Parse never panics, that what it accepts is stable
// (parsing Raw, or Location for the kinds whose Location is itself a
// source string, gives the same spec) and that a file's Location cannot be
// read as a URL by FFmpeg, which opens files by name.
//
// String() redacts passwords and long queries, so it re-parses to the same
// spec only when it equals Raw.
func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) = %v, want an ErrInvalid error", s, err)
			}
			return
		}
		if spec.Raw != strings.TrimSpace(s) {
			t.Fatalf("Parse(%q).Raw = %q, want the trimmed input", s, spec.Raw)
		}
		again, err := Parse(spec.Raw)
		if err != nil || !reflect.DeepEqual(again, spec) {
			t.Fatalf("Parse(%q) = %+v, but Parse(Raw) = %+v, %v", s, spec, again, err)
		}
		if str := spec.String(); str == spec.Raw {
			if again, err := Parse(str); err != nil || !reflect.DeepEqual(again, spec) {
				t.Fatalf("Parse(%q) = %+v, but Parse(String()) = %+v, %v", s, spec, again, err)
			}
		}
		if spec.Device != -1 && (spec.Kind != Webcam || spec.Device < 0 || spec.Device > math.MaxInt32) {
			t.Fatalf("Parse(%q) = %+v: device %d out of place or range", s, spec, spec.Device)
		}
		switch spec.Kind {
		case File:
			if ffmpegProtocol(spec.Location) {
				t.Fatalf("Parse(%q) = file %q, which FFmpeg opens as a URL", s, spec.Location)
			}
			if strings.TrimPrefix(spec.Location, "./") != filepath.Clean(spec.Location) {
				t.Fatalf("Parse(%q) = file %q, not a clean path", s, spec.Location)
			}
			fallthrough
		case Webcam:
			// A path re-parses to itself (unless Clean left it ending in a
			// space, as of "0 /", which Parse would trim); webcam:N
			// becomes /dev/videoN.
			if strings.TrimSpace(spec.Location) != spec.Location {
				break
			}
			loc, err := Parse(spec.Location)
			if err != nil || loc.Kind != spec.Kind || loc.Location != spec.Location || loc.Device != spec.Device {
				t.Fatalf("Parse(%q) = %+v, but Parse(Location) = %+v, %v", s, spec, loc, err)
			}
		case RTSP, RTMP, HTTP, HLS:
			u, err := url.Parse(spec.Location)
			if err != nil || u.Hostname() == "" {
				t.Fatalf("Parse(%q) = %+v: Location has no host (%v)", s, spec, err)
			}
			src := spec.Location
			if strings.HasPrefix(strings.ToLower(spec.Raw), "hls+") {
				src = "hls+" + src
			}
			loc, err := Parse(src)
			if err != nil || loc.Kind != spec.Kind || loc.Location != spec.Location {
				t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v, %v", s, spec, src, loc, err)
			}
			if pw, ok := u.User.Password(); ok && len(pw) > 3 && strings.Contains(spec.String(), ":"+pw+"@") {
				t.Fatalf("String() of %q shows the password: %s", s, spec.String())
			}
		case YouTube:
			if !youtubeIDRE.MatchString(spec.VideoID) || spec.Location != "https://www.youtube.com/watch?v="+spec.VideoID {
				t.Fatalf("Parse(%q) = %+v: bad YouTube id or location", s, spec)
			}
			loc, err := Parse(spec.Location)
			if err != nil || !reflect.DeepEqual(loc, Spec{Raw: spec.Location, Kind: YouTube, Location: spec.Location, Device: -1, VideoID: spec.VideoID}) {
				t.Fatalf("Parse(%q) = %+v, but Parse(Location) = %+v, %v", s, spec, loc, err)
			}
		default:
			t.Fatalf("Parse(%q): unknown kind %q", s, spec.Kind)
		}
	})
}

// ffmpegProtocol reports whether FFmpeg's url_find_protocol would read
// name as protocol:rest rather than as a file: a run of scheme characters
// followed by ':', or the subfile, prefix.
func ffmpegProtocol(name string) bool {
	const schemeChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."
	n := 0
	for n < len(name) && strings.IndexByte(schemeChars, name[n]) >= 0 {
		n++
	}
	if n < len(name) && name[n] == ':' {
		return true
	}
	return strings.HasPrefix(name, "subfile,") && strings.Contains(name[8:], ":")
}

// fuzzDNS answers every name with the fuzzed addresses, which may be of
// any length, and counts lookups.
type fuzzDNS struct {
	ips   []net.IP
	asked int
}

func (d *fuzzDNS) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	d.asked++
	if len(d.ips) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]net.IPAddr, len(d.ips))
	for i, ip := range d.ips {
		out[i] = net.IPAddr{IP: ip}
	}
	return out, nil
}

// FuzzPolicy checks Policy.Check and CheckURL against an oracle built from
// net/netip alone: whatever the host is spelled as or resolves to, no
// policy allows a link-local or metadata address, the strict policy allows
// no loopback, private, CGNAT or unspecified one either (nor a name it
// could not resolve), and literal addresses are never looked up.
func FuzzPolicy(f *testing.F) {
	ip := func(s string) []byte { return netip.MustParseAddr(s).AsSlice() }
	f.Add("https://cdn.example.com/live.m3u8", ip("93.184.215.14"), []byte(nil), false, false)
	f.Add("https://cdn.example.com/live.m3u8", ip("93.184.215.14"), ip("169.254.169.254"), true, true)
	f.Add("rtsp://cam.example.com/s", ip("::ffff:169.254.169.254"), []byte(nil), true, false)
	f.Add("rtsp://cam.example.com/s", ip("fe80::1"), ip("2606:2800:21f:cb07::1"), true, true)
	f.Add("http://cam.example.com/a.mp4", ip("fd00:ec2::254"), []byte(nil), true, true)
	f.Add("http://cam.example.com/a.mp4", ip("10.0.0.1"), []byte(nil), false, false)
	f.Add("http://cam.example.com/a.mp4", []byte{1, 2, 3}, []byte(nil), false, false)
	f.Add("http://2852039166/latest/meta-data", []byte(nil), []byte(nil), true, true)
	f.Add("http://0xa9.0xfe.0xa9.0xfe/", []byte(nil), []byte(nil), true, true)
	f.Add("http://[::ffff:a9fe:a9fe]/", []byte(nil), []byte(nil), true, true)
	f.Add("http://[64:ff9b::a9fe:a9fe]/", []byte(nil), []byte(nil), true, true)
	f.Add("http://127.1/a.mp4", []byte(nil), []byte(nil), false, false)
	f.Add("http://localhost/a.mp4", ip("127.0.0.1"), []byte(nil), true, false)
	f.Add("/data/a.mp4", []byte(nil), []byte(nil), false, true)
	f.Add("youtu.be/dQw4w9WgXcQ", []byte(nil), []byte(nil), false, false)
	f.Fuzz(func(t *testing.T, raw string, ip1, ip2 []byte, allowPrivate, allowFiles bool) {
		p := Policy{AllowPrivate: allowPrivate, AllowFiles: allowFiles}
		dns := &fuzzDNS{}
		for _, ip := range [][]byte{ip1, ip2} {
			if ip != nil {
				dns.ips = append(dns.ips, net.IP(ip))
			}
		}
		ctx := context.Background()
		check := func(what string, err error, host string) {
			if err != nil {
				if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotAllowed) && !errors.Is(err, ErrUnavailable) {
					t.Fatalf("%s: error %v is not one of the package's kinds", what, err)
				}
				return
			}
			var addrs []netip.Addr
			if a, err := netip.ParseAddr(host); err == nil {
				addrs = append(addrs, a)
				if dns.asked != 0 {
					t.Fatalf("%s: looked up the literal address %s", what, host)
				}
			} else if a, ok := inetAton(host); ok {
				addrs = append(addrs, a)
			} else {
				for _, ip := range dns.ips {
					if a, ok := netip.AddrFromSlice(ip); ok {
						addrs = append(addrs, a)
					}
				}
				// Where private hosts are allowed, a name that resolves to
				// nothing passes: it reaches nothing (an offline camera).
				if dns.asked == 0 || len(addrs) == 0 && !(allowPrivate && len(dns.ips) == 0) {
					t.Fatalf("%s: allowed host %q with %d lookups giving %v", what, host, dns.asked, dns.ips)
				}
			}
			for _, a := range addrs {
				if bad := oracleNever(a); bad != "" {
					t.Fatalf("%s under %+v allowed host %q at %s, a %s address", what, p, host, a, bad)
				}
				if bad := oracleStrict(a); !allowPrivate && bad != "" {
					t.Fatalf("%s under the strict policy allowed host %q at %s, a %s address", what, host, a, bad)
				}
			}
		}
		host := hostOf(raw)
		check("CheckURL("+raw+")", p.CheckURL(ctx, raw, dns), host)
		spec, err := Parse(raw)
		if err != nil {
			return
		}
		dns.asked = 0
		err = p.Check(ctx, spec, dns)
		switch spec.Kind {
		case File, Webcam:
			if (err == nil) != allowFiles {
				t.Fatalf("Check(%s) under %+v = %v", spec, p, err)
			}
		case YouTube:
			if err != nil {
				t.Fatalf("Check(%s) = %v, want YouTube links allowed (their streams are checked)", spec, err)
			}
		default:
			check("Check("+spec.String()+")", err, hostOf(spec.Location))
		}
	})
}

// oracleNever classifies addresses no policy may allow.
func oracleNever(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	b := a.As16()
	if a.Is6() && (netip.MustParsePrefix("64:ff9b::/96").Contains(a) || [12]byte(b[:12]) == [12]byte{}) {
		if r := oracleNever(netip.AddrFrom4([4]byte(b[12:]))); r != "" {
			return r
		}
	}
	switch {
	case netip.MustParsePrefix("169.254.0.0/16").Contains(a), netip.MustParsePrefix("fe80::/10").Contains(a):
		return "link-local"
	case a == netip.MustParseAddr("fd00:ec2::254"), a == netip.MustParseAddr("100.100.100.200"):
		return "metadata"
	}
	return ""
}

// oracleStrict classifies the addresses only the strict policy refuses.
func oracleStrict(a netip.Addr) string {
	a = a.Unmap()
	for _, p := range []string{"0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "::/128", "::1/128", "fc00::/7"} {
		if netip.MustParsePrefix(p).Contains(a.WithZone("")) {
			return p
		}
	}
	return ""
}
