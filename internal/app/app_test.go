package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sightline-video/sightline/internal/config"
)

func TestTemporalOptions(t *testing.T) {
	plain, err := TemporalOptions(config.Config{TemporalAddress: "t:7233", TemporalNamespace: "ns"})
	if err != nil || plain.ConnectionOptions.TLS != nil || plain.Credentials != nil || plain.HostPort != "t:7233" || plain.Namespace != "ns" {
		t.Fatalf("a local server needs no TLS: %+v %v", plain, err)
	}
	cloud, err := TemporalOptions(config.Config{TemporalAddress: "ns.acct.tmprl.cloud:7233", TemporalAPIKey: "k"})
	if err != nil || cloud.ConnectionOptions.TLS == nil || cloud.Credentials == nil {
		t.Fatalf("an API key turns TLS on and sends the key: %+v %v", cloud, err)
	}
	bad := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := TemporalOptions(config.Config{TemporalCA: bad}); err == nil || !strings.Contains(err.Error(), "SIGHTLINE_TEMPORAL_TLS_CA") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
	if _, err := TemporalOptions(config.Config{TemporalTLSCert: "/missing.pem", TemporalTLSKey: "/missing.key"}); err == nil ||
		!strings.Contains(err.Error(), "SIGHTLINE_TEMPORAL_TLS_CERT") {
		t.Errorf("a missing client certificate: %v", err)
	}
}
