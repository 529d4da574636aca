package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
)

// fakeDNS answers from a table and records what was asked.
type fakeDNS struct {
	hosts map[string][]string
	asked []string
}

func (f *fakeDNS) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	f.asked = append(f.asked, host)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ips, ok := f.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

func TestPolicyRefusesInternalAddresses(t *testing.T) {
	dns := &fakeDNS{hosts: map[string][]string{
		"cdn.example.com":      {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"intranet.example.com": {"10.1.2.3"},
		"mixed.example.com":    {"93.184.215.14", "192.168.1.20"},
		"rebind.example.com":   {"127.0.0.1"},
		"v6ula.example.com":    {"fd12:3456::1"},
		"mapped.example.com":   {"::ffff:172.16.0.9"},
		"linklocal.example":    {"169.254.169.254"},
		"cgnat.example.com":    {"100.64.0.7"},
		"localhost":            {"127.0.0.1", "::1"},
		"cam.localhost":        {"127.0.0.1"},
	}}
	strict := Policy{}
	cases := []struct {
		in   string
		want string // "" = allowed, else part of the error
	}{
		{"https://cdn.example.com/live.m3u8", ""},
		{"rtsp://93.184.215.14/stream", ""},
		{"rtmp://[2606:2800:21f:cb07::1]/app/key", ""},
		{"http://127.0.0.1:8080/a.m3u8", "loopback"},
		{"http://[::1]/a.mp4", "loopback"},
		{"rtsp://192.168.1.10/stream", "private"},
		{"rtsp://172.31.255.255/stream", "private"},
		{"http://[fc00::5]/x.mp4", "private"},
		{"http://169.254.169.254/latest/meta-data", "link-local"},
		{"http://[fe80::1]/x.mp4", "link-local"},
		{"http://0.0.0.0:9000/x.mp4", "unspecified"},
		{"http://[::]/x.mp4", "unspecified"},
		{"http://0.1.2.3/x.mp4", "unspecified"},
		{"http://localhost:9000/x.mp4", "loopback name"},
		{"http://cam.localhost/x.mp4", "loopback name"},
		{"http://2130706433/x.mp4", "non-standard form"},
		{"http://127.1/x.mp4", "non-standard form"},
		{"http://0x7f.0.0.1/x.mp4", "non-standard form"},
		{"https://intranet.example.com/a.m3u8", "resolves to 10.1.2.3, a private"},
		{"https://mixed.example.com/a.m3u8", "resolves to 192.168.1.20, a private"},
		{"rtmp://rebind.example.com/live/x", "resolves to 127.0.0.1, a loopback"},
		{"https://v6ula.example.com/a.mp4", "private"},
		{"https://mapped.example.com/a.mp4", "resolves to 172.16.0.9, a private"},
		{"https://linklocal.example/a.mp4", "link-local"},
		{"https://cgnat.example.com/a.mp4", "private"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			spec, err := Parse(c.in)
			if err != nil {
				t.Fatal(err)
			}
			err = strict.Check(context.Background(), spec, dns)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", c.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%s) allowed it, want refusal mentioning %q", c.in, c.want)
			}
			if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check(%s) = %v, want ErrNotAllowed mentioning %q", c.in, err, c.want)
			}
			if !strings.Contains(err.Error(), spec.String()) {
				t.Fatalf("error %q does not name the source", err)
			}
			// The same URL is fine when private addresses are allowed,
			// unless it is link-local (see TestPolicyNeverAllowsLinkLocal).
			if c.want == "link-local" {
				return
			}
			if err := (Policy{AllowPrivate: true}).Check(context.Background(), spec, dns); err != nil {
				t.Fatalf("AllowPrivate still refused %s: %v", c.in, err)
			}
		})
	}
}

func TestPolicyFilesAndDevices(t *testing.T) {
	for _, in := range []string{"/data/a.mp4", "file:///data/a.mp4", "webcam:0", "/dev/video2"} {
		spec, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		err = Policy{AllowPrivate: true}.Check(context.Background(), spec, nil)
		if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "not allowed") {
			t.Fatalf("Check(%s) without AllowFiles = %v, want ErrNotAllowed", in, err)
		}
		if err := (Policy{AllowFiles: true}).Check(context.Background(), spec, nil); err != nil {
			t.Fatalf("Check(%s) with AllowFiles = %v", in, err)
		}
	}
}

func TestPolicyDNSFailureAndContext(t *testing.T) {
	dns := &fakeDNS{}
	spec, _ := Parse("https://nowhere.example.com/a.m3u8")
	err := Policy{}.Check(context.Background(), spec, dns)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "nowhere.example.com") {
		t.Fatalf("unknown host: %v, want ErrUnavailable naming the host", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Policy{}).Check(ctx, spec, dns); err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Fatalf("cancelled context: %v", err)
	}
	// Literal addresses need no lookup under any policy; names are looked
	// up even when private addresses are allowed, for the link-local check;
	// there a name that does not resolve passes (a camera may be offline),
	// since it reaches nothing and opening checks again.
	dns.asked = nil
	_ = Policy{}.Check(context.Background(), mustParse(t, "http://10.0.0.1/a.mp4"), dns)
	_ = Unrestricted.Check(context.Background(), mustParse(t, "http://10.0.0.1/a.mp4"), dns)
	_ = Unrestricted.Check(context.Background(), mustParse(t, "http://[fd00::1]/a.mp4"), dns)
	if len(dns.asked) != 0 {
		t.Fatalf("resolver asked for %v, want no lookups for literal addresses", dns.asked)
	}
	err = Unrestricted.Check(context.Background(), spec, dns)
	if err != nil || len(dns.asked) != 1 {
		t.Fatalf("unknown host under Unrestricted: %v after lookups %v, want one lookup and no error", err, dns.asked)
	}
}

func TestPolicyNeverAllowsLinkLocal(t *testing.T) {
	dns := &fakeDNS{hosts: map[string][]string{
		"metadata.example":     {"169.254.169.254"},
		"metadata.google.test": {"93.184.215.14", "169.254.169.254"},
		"ll6.example":          {"2606:2800:21f:cb07::1", "fe80::1"},
		"mapped.example":       {"::ffff:169.254.169.254"},
		"ec2v6.example":        {"fd00:ec2::254"},
		"public.example":       {"93.184.215.14"},
		"private.example":      {"10.0.0.8"},
	}}
	policies := map[string]Policy{
		"strict":       {},
		"unrestricted": Unrestricted,
		"allowPrivate": {AllowPrivate: true},
	}
	refused := []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://169.254.1.1/a.mp4",
		"rtsp://169.254.0.1:554/cam",
		"http://[fe80::1]/a.mp4",
		"http://[fe80::1%25eth0]:8080/a.mp4",
		"http://[febf:ffff::1]/a.mp4",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://100.100.100.200/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/latest/meta-data/",
		"http://[::ffff:a9fe:a9fe]/latest/meta-data/",
		"http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
		"http://[::169.254.169.254]/latest/meta-data/",
		"http://2852039166/latest/meta-data/",
		"http://0xa9fea9fe/latest/meta-data/",
		"http://0251.0376.0251.0376/latest/meta-data/",
		"http://169.254.43518/latest/meta-data/",
		"http://169.16689662/latest/meta-data/",
		"http://169.254.169.254./latest/meta-data/",
		"https://metadata.example/computeMetadata/v1/",
		"https://metadata.google.test/computeMetadata/v1/",
		"hls+https://ll6.example/a.m3u8",
		"rtmp://mapped.example/live/key",
		"http://ec2v6.example/latest/meta-data/",
	}
	for name, p := range policies {
		for _, in := range refused {
			t.Run(name+"/"+in, func(t *testing.T) {
				err := p.Check(context.Background(), mustParse(t, in), dns)
				if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "link-local/metadata addresses are never allowed") {
					t.Fatalf("Check(%s) = %v, want ErrNotAllowed saying link-local/metadata addresses are never allowed", in, err)
				}
			})
		}
	}
	// Neighbours of the refused addresses stay as the policy says.
	for _, c := range []struct {
		in          string
		strictAllow bool
	}{
		{"http://169.253.255.255/a.mp4", true},
		{"http://169.255.0.1/a.mp4", true},
		{"http://[fec0::1]/a.mp4", true},
		{"http://[::ffff:fe80:1]/a.mp4", true},
		{"http://[64:ff9b::5db8:d70e]/a.mp4", true},
		{"http://100.100.100.100/a.mp4", false},
		{"http://[fd00:ec2::253]/a.mp4", false},
		{"https://public.example/a.mp4", true},
		{"https://private.example/a.mp4", false},
		{"http://10.0.0.1/a.mp4", false},
		{"http://127.0.0.1/a.mp4", false},
		{"http://2130706433/a.mp4", false},
	} {
		spec := mustParse(t, c.in)
		if err := Unrestricted.Check(context.Background(), spec, dns); err != nil {
			t.Errorf("Unrestricted.Check(%s) = %v, want allowed", c.in, err)
		}
		err := Policy{}.Check(context.Background(), spec, dns)
		if c.strictAllow != (err == nil) {
			t.Errorf("strict Check(%s) = %v, want allowed %v", c.in, err, c.strictAllow)
		}
	}
}

func TestResolverRefusesLinkLocalUnrestricted(t *testing.T) {
	dns := &fakeDNS{hosts: map[string][]string{"cam.example.com": {"169.254.10.20"}}}
	r := &DefaultResolver{Policy: Unrestricted, DNS: dns}
	_, err := r.Resolve(context.Background(), mustParse(t, "rtsp://cam.example.com/s"))
	if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "never allowed") {
		t.Fatalf("Resolve link-local camera with Unrestricted: %v", err)
	}
}

func TestInetAton(t *testing.T) {
	for _, c := range []struct {
		in, want string // want "" = not an address to inet_aton
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F.1", "127.0.0.1"},
		{"0177.0.0.01", "127.0.0.1"},
		{"0", "0.0.0.0"},
		{"00", "0.0.0.0"},
		{"4294967295", "255.255.255.255"},
		{"1.16777215", "1.255.255.255"},
		{"1.2.65535", "1.2.255.255"},
		{"4294967296", ""},
		{"1.16777216", ""},
		{"1.2.65536", ""},
		{"256.1.1.1", ""},
		{"1.2.3.256", ""},
		{"1.2.3.4.5", ""},
		{"0x", ""},
		{"08", ""},
		{"09.1.1.1", ""},
		{"1..1", ""},
		{"1.", ""},
		{".1", ""},
		{"+1", ""},
		{"1_0", ""},
		{"0b1", ""},
		{"0o7", ""},
		{"0xg", ""},
		{"", ""},
	} {
		got, ok := inetAton(c.in)
		if c.want == "" {
			if ok {
				t.Errorf("inetAton(%q) = %v, want not an address", c.in, got)
			}
			continue
		}
		if !ok || got.String() != c.want {
			t.Errorf("inetAton(%q) = %v, %v, want %s", c.in, got, ok, c.want)
		}
	}
}

func TestResolverAppliesPolicy(t *testing.T) {
	dns := &fakeDNS{hosts: map[string][]string{"cam.example.com": {"192.168.0.2"}}}
	r := &DefaultResolver{DNS: dns}
	_, err := r.Resolve(context.Background(), mustParse(t, "rtsp://cam.example.com/s"))
	if !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Resolve private camera with strict policy: %v", err)
	}
	r.Policy = Unrestricted
	res, err := r.Resolve(context.Background(), mustParse(t, "rtsp://cam.example.com/s"))
	if err != nil || res.Target != "rtsp://cam.example.com/s" || !res.Live || res.Kind != RTSP {
		t.Fatalf("Resolve = %+v, %v", res, err)
	}
	_, err = r.Resolve(context.Background(), mustParse(t, "/no/such/file.mp4"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "/no/such/file.mp4") {
		t.Fatalf("Resolve missing file: %v", err)
	}
	_, err = r.Resolve(context.Background(), mustParse(t, t.TempDir()))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("Resolve directory: %v", err)
	}
}

func mustParse(t *testing.T, s string) Spec {
	t.Helper()
	spec, err := Parse(s)
	if err != nil {
		t.Fatal(fmt.Errorf("Parse(%q): %w", s, err))
	}
	return spec
}
