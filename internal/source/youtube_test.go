package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kkdai/youtube/v2"

	"github.com/sightline-video/sightline/internal/source/sourcetest"
)

const (
	liveID     = "LiveStream1"
	recordedID = "Recorded123"
	privateID  = "PrivateVid1"
	manifest   = "https://manifest.googlevideo.com/api/manifest/hls_variant/expire/1700000000/id/LiveStream1/source/yt_live_broadcast/file/index.m3u8"
)

func stream(itag int, mime string, w, h int, audio bool, bitrate int) map[string]any {
	f := map[string]any{
		"itag":     itag,
		"url":      fmt.Sprintf("https://rr4---sn-fake.googlevideo.com/videoplayback?expire=1700000000&itag=%d&mime=video%%2Fmp4&sig=AOq0QJ8wRAIgFAKE", itag),
		"mimeType": mime,
		"bitrate":  bitrate,
		"width":    w,
		"height":   h,
	}
	if audio {
		f["audioQuality"] = "AUDIO_QUALITY_LOW"
		f["audioChannels"] = 2
	}
	return f
}

func newFakeYouTube() *sourcetest.YouTube {
	return &sourcetest.YouTube{Players: map[string]any{
		liveID: map[string]any{
			"playabilityStatus": map[string]any{"status": "OK", "playableInEmbed": true},
			"streamingData": map[string]any{
				"expiresInSeconds": "21540",
				"hlsManifestUrl":   manifest,
				"adaptiveFormats": []any{
					stream(136, `video/mp4; codecs="avc1.4d401f"`, 1280, 720, false, 2500000),
				},
			},
			"videoDetails": map[string]any{"videoId": liveID, "title": "A live cam", "lengthSeconds": "0", "isLiveContent": true},
		},
		recordedID: map[string]any{
			"playabilityStatus": map[string]any{"status": "OK", "playableInEmbed": true},
			"streamingData": map[string]any{
				"expiresInSeconds": "21540",
				// Recorded videos may list a manifest too; a progressive
				// stream must still win.
				"hlsManifestUrl": "https://manifest.googlevideo.com/api/manifest/hls_variant/id/Recorded123/index.m3u8",
				"formats": []any{
					stream(18, `video/mp4; codecs="avc1.42001E, mp4a.40.2"`, 640, 360, true, 500000),
					stream(22, `video/mp4; codecs="avc1.64001F, mp4a.40.2"`, 1280, 720, true, 1500000),
				},
				"adaptiveFormats": []any{
					stream(137, `video/mp4; codecs="avc1.640028"`, 1920, 1080, false, 4000000),
					stream(313, `video/webm; codecs="vp9"`, 3840, 2160, false, 18000000),
					stream(140, `audio/mp4; codecs="mp4a.40.2"`, 0, 0, true, 130000),
				},
			},
			"videoDetails": map[string]any{"videoId": recordedID, "title": "A recording", "lengthSeconds": "212"},
		},
		privateID: map[string]any{
			"playabilityStatus": map[string]any{"status": "LOGIN_REQUIRED", "reason": "This video is private"},
		},
	}}
}

func TestResolveYouTubeLive(t *testing.T) {
	fake := newFakeYouTube()
	dns := &fakeDNS{hosts: map[string][]string{"manifest.googlevideo.com": {"142.250.74.46"}}}
	r := &DefaultResolver{DNS: dns, HTTPClient: &http.Client{Transport: fake}}
	spec := mustParse(t, "https://www.youtube.com/live/"+liveID+"?feature=share")

	res, err := r.Resolve(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != HLS || !res.Live || res.Target != manifest || res.Spec.VideoID != liveID {
		t.Fatalf("live video resolved to %+v, want live HLS %s", res, manifest)
	}
	if fake.Count("POST www.youtube.com/youtubei/v1/player") != 1 {
		t.Fatalf("requests %v, want one player request", fake.Requests())
	}
	// Manifests expire: every Resolve asks again.
	if _, err := r.Resolve(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if n := fake.Count("POST www.youtube.com/youtubei/v1/player"); n != 2 {
		t.Fatalf("second Resolve made %d player requests in all, want 2 (no caching)", n)
	}
}

func TestResolveYouTubeRecorded(t *testing.T) {
	fake := newFakeYouTube()
	// Even Unrestricted resolves the stream host, to refuse link-local ones.
	dns := &fakeDNS{hosts: map[string][]string{"rr4---sn-fake.googlevideo.com": {"142.250.74.46"}}}
	r := &DefaultResolver{Policy: Unrestricted, DNS: dns, HTTPClient: &http.Client{Transport: fake}}
	res, err := r.Resolve(context.Background(), mustParse(t, "https://youtu.be/"+recordedID))
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != HTTP || res.Live {
		t.Fatalf("recorded video resolved to %+v, want a non-live HTTP stream", res)
	}
	u, err := url.Parse(res.Target)
	if err != nil {
		t.Fatal(err)
	}
	// itag 22: progressive MP4 with audio, the highest such up to 1080p.
	if u.Host != "rr4---sn-fake.googlevideo.com" || u.Path != "/videoplayback" || u.Query().Get("itag") != "22" || u.Query().Get("sig") == "" {
		t.Fatalf("stream URL %s, want the itag 22 progressive format with its signature", res.Target)
	}
	if fake.Count("GET youtube.com/embed/") != 1 {
		t.Fatalf("requests %v: the stream URL should pass through the player (unthrottle) step", fake.Requests())
	}
	if strings.Contains(res.String(), "sig=") {
		t.Fatalf("Resolved.String() leaks the stream URL: %s", res)
	}
}

func TestResolveYouTubeRefusals(t *testing.T) {
	fake := newFakeYouTube()
	// The resolved manifest host is checked against the policy too.
	dns := &fakeDNS{hosts: map[string][]string{"manifest.googlevideo.com": {"10.9.8.7"}}}
	r := &DefaultResolver{DNS: dns, HTTPClient: &http.Client{Transport: fake}}
	_, err := r.Resolve(context.Background(), mustParse(t, "https://www.youtube.com/watch?v="+liveID))
	if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), liveID) {
		t.Fatalf("manifest on a private address: %v, want ErrNotAllowed naming the video", err)
	}

	r = &DefaultResolver{Policy: Unrestricted, HTTPClient: &http.Client{Transport: fake}}
	_, err = r.Resolve(context.Background(), mustParse(t, "https://www.youtube.com/watch?v="+privateID))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), privateID) {
		t.Fatalf("private video: %v, want ErrInvalid naming the video", err)
	}
	_, err = r.Resolve(context.Background(), mustParse(t, "https://www.youtube.com/watch?v=Unknown1234"))
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "Unknown1234") {
		t.Fatalf("player request failing: %v, want ErrUnavailable naming the video", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Resolve(ctx, mustParse(t, "https://youtu.be/"+liveID)); err == nil {
		t.Fatal("Resolve with a cancelled context succeeded")
	}
}

func TestBestFormat(t *testing.T) {
	f := func(itag int, mime string, h int, audio bool, bitrate int) youtube.Format {
		x := youtube.Format{ItagNo: itag, MimeType: mime, Height: h, Width: h * 16 / 9, Bitrate: bitrate, URL: "https://x/" + fmt.Sprint(itag)}
		if audio {
			x.AudioChannels = 2
		}
		return x
	}
	cases := []struct {
		name string
		list youtube.FormatList
		want int // itag, 0 for none
	}{
		{"progressive beats higher video-only", youtube.FormatList{
			f(137, "video/mp4; codecs=\"avc1\"", 1080, false, 4e6), f(18, "video/mp4; codecs=\"avc1, mp4a\"", 360, true, 5e5)}, 18},
		{"highest up to 1080", youtube.FormatList{
			f(400, "video/mp4; codecs=\"av01\"", 1440, false, 9e6), f(137, "video/mp4; codecs=\"avc1\"", 1080, false, 4e6),
			f(136, "video/mp4; codecs=\"avc1\"", 720, false, 2e6)}, 137},
		{"mp4 before webm", youtube.FormatList{
			f(248, "video/webm; codecs=\"vp9\"", 1080, false, 3e6), f(136, "video/mp4; codecs=\"avc1\"", 720, false, 2e6)}, 136},
		{"smallest oversize when nothing fits", youtube.FormatList{
			f(313, "video/webm; codecs=\"vp9\"", 2160, false, 1e7), f(271, "video/webm; codecs=\"vp9\"", 1440, false, 8e6)}, 271},
		{"audio only", youtube.FormatList{f(140, "audio/mp4; codecs=\"mp4a\"", 0, true, 1e5)}, 0},
		{"no URL or cipher", youtube.FormatList{{ItagNo: 18, MimeType: "video/mp4", Height: 360}}, 0},
	}
	for _, c := range cases {
		got := bestFormat(c.list)
		switch {
		case c.want == 0 && got != nil:
			t.Errorf("%s: picked itag %d, want none", c.name, got.ItagNo)
		case c.want != 0 && (got == nil || got.ItagNo != c.want):
			t.Errorf("%s: picked %v, want itag %d", c.name, got, c.want)
		}
	}
}
