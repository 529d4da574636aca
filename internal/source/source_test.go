package source

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKinds(t *testing.T) {
	cases := []struct {
		in       string
		kind     Kind
		location string
		device   int
		videoID  string
	}{
		{"/data/clips/a.mp4", File, "/data/clips/a.mp4", -1, ""},
		{"  ./clips/../a.avi ", File, "a.avi", -1, ""},
		{"relative.mkv", File, "relative.mkv", -1, ""},
		{"file:///data/a%20b.mp4", File, "/data/a b.mp4", -1, ""},
		{"file://localhost/data/a.mp4", File, "/data/a.mp4", -1, ""},
		{"/dev/video0", Webcam, "/dev/video0", 0, ""},
		{"/dev/video12", Webcam, "/dev/video12", 12, ""},
		{"/dev/v4l/by-id/usb-cam-video-index0", Webcam, "/dev/v4l/by-id/usb-cam-video-index0", -1, ""},
		{"webcam:0", Webcam, "/dev/video0", 0, ""},
		{"WEBCAM:3", Webcam, "/dev/video3", 3, ""},
		{"rtsp://cam.example.com:554/stream1", RTSP, "rtsp://cam.example.com:554/stream1", -1, ""},
		{"rtsps://user:pw@cam.example.com/s", RTSP, "rtsps://user:pw@cam.example.com/s", -1, ""},
		{"rtmp://live.example.com/app/key", RTMP, "rtmp://live.example.com/app/key", -1, ""},
		{"rtmps://live.example.com/app/key", RTMP, "rtmps://live.example.com/app/key", -1, ""},
		{"https://cdn.example.com/live/index.m3u8", HLS, "https://cdn.example.com/live/index.m3u8", -1, ""},
		{"http://cdn.example.com/live/INDEX.M3U8?token=abc", HLS, "http://cdn.example.com/live/INDEX.M3U8?token=abc", -1, ""},
		{"hls+https://cdn.example.com/playlist?id=7", HLS, "https://cdn.example.com/playlist?id=7", -1, ""},
		{"https://media.example.com/video.mp4", HTTP, "https://media.example.com/video.mp4", -1, ""},
		{"http://[2001:db8::1]:8080/stream.ts", HTTP, "http://[2001:db8::1]:8080/stream.ts", -1, ""},
		{"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", YouTube, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", -1, "dQw4w9WgXcQ"},
		{"https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ", YouTube, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", -1, "dQw4w9WgXcQ"},
		{"https://youtu.be/dQw4w9WgXcQ?si=xyz", YouTube, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", -1, "dQw4w9WgXcQ"},
		{"https://www.youtube.com/live/jfKfPfyJRdk?feature=shared", YouTube, "https://www.youtube.com/watch?v=jfKfPfyJRdk", -1, "jfKfPfyJRdk"},
		{"https://youtube.com/shorts/abcdefghijk", YouTube, "https://www.youtube.com/watch?v=abcdefghijk", -1, "abcdefghijk"},
		{"https://www.youtube.com/embed/dQw4w9WgXcQ", YouTube, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", -1, "dQw4w9WgXcQ"},
		{"youtu.be/dQw4w9WgXcQ", YouTube, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", -1, "dQw4w9WgXcQ"},
		{"www.youtube.com/watch?v=dQw4w9WgXcQ", YouTube, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", -1, "dQw4w9WgXcQ"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := Parse(c.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.in, err)
			}
			if got.Kind != c.kind || got.Location != c.location || got.Device != c.device || got.VideoID != c.videoID {
				t.Fatalf("Parse(%q) = %+v, want kind %s location %q device %d id %q", c.in, got, c.kind, c.location, c.device, c.videoID)
			}
			if got.Raw != strings.TrimSpace(c.in) {
				t.Fatalf("Raw = %q, want the trimmed input", got.Raw)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		in   string
		want string // part of the error message
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"ftp://example.com/a.mp4", `unsupported scheme "ftp"`},
		{"javascript:alert(1)", `unsupported scheme "javascript"`},
		{"data:video/mp4;base64,AAAA", `unsupported scheme "data"`},
		{"gopher://example.com/", `unsupported scheme "gopher"`},
		{"udp://239.0.0.1:1234", `unsupported scheme "udp"`},
		{"http://", "no host"},
		{"https:///path.mp4", "no host"},
		{"http:example.com/a.mp4", "no host"},
		{"rtsp://", "no host"},
		{"http://[::1/a.m3u8", "malformed URL"},
		{"http://exa mple.com/a.mp4", "malformed URL"},
		{"http://example.com:99999/a.mp4", "out of range"},
		{"http://example.com/a\n.mp4", "control characters"},
		{"file://otherhost/a.mp4", "must be local"},
		{"file://", "no path"},
		{"webcam:", "device number"},
		{"webcam:front", "device number"},
		{"webcam:-1", "device number"},
		{"https://www.youtube.com/", "no video id"},
		{"https://www.youtube.com/watch?list=PL123", "no video id"},
		{"https://www.youtube.com/@somechannel/live", "no video id"},
		{"https://youtu.be/", "no video id"},
		{"https://www.youtube.com/watch?v=short", "not 11 characters"},
		{"https://www.youtube.com/shorts/has%20space0", "not 11 characters"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := Parse(c.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", c.in, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", c.in, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse(%q) error %q does not mention %q", c.in, err, c.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	long := "https://rr3---sn-abc.googlevideo.com/videoplayback?expire=1700000000&ei=abc&ip=1.2.3.4&id=o-AAA&itag=18&sig=AOq0QJ8wRQIh"
	if got := Redact(long); got != "https://rr3---sn-abc.googlevideo.com/videoplayback?…" {
		t.Fatalf("Redact(long) = %q", got)
	}
	if got := Redact("rtsp://admin:secret@10.0.0.5/s"); strings.Contains(got, "secret") {
		t.Fatalf("Redact kept the password: %q", got)
	}
	if got := Redact("https://example.com/a.m3u8?x=1"); got != "https://example.com/a.m3u8?x=1" {
		t.Fatalf("Redact(short) = %q", got)
	}
	if got := Redact("/data/a.mp4"); got != "/data/a.mp4" {
		t.Fatalf("Redact(path) = %q", got)
	}
	// Errors name the source, redacted.
	_, err := Parse("ftp://example.com/" + strings.Repeat("x", 10) + "?sig=" + strings.Repeat("s", 100))
	if err == nil || strings.Contains(err.Error(), "sssss") || !strings.Contains(err.Error(), "ftp://example.com/") {
		t.Fatalf("error %v should name the source without its long query", err)
	}
}
