// Package source turns a user's source string (a file, a webcam, an RTSP,
// RTMP, HLS or HTTP URL, or a YouTube link) into something OpenCV can open,
// and opens it with timeouts.
//
// The steps are separate so each can be checked on its own:
//
//	spec, err := source.Parse(s)                 // classify, no I/O
//	res, err := resolver.Resolve(ctx, spec)      // policy, YouTube lookup
//	r, err := source.Open(ctx, res, opts)        // OpenCV, bounded in time
package source

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Kind is the family of a source.
type Kind string

// The kinds of source Sightline reads.
const (
	File    Kind = "file"    // a local video file
	Webcam  Kind = "webcam"  // a V4L2 device: /dev/video0 or webcam:0
	RTSP    Kind = "rtsp"    // rtsp:// or rtsps://
	RTMP    Kind = "rtmp"    // rtmp:// or rtmps://
	HLS     Kind = "hls"     // http(s) URL ending in .m3u8, or declared with hls+http(s)://
	HTTP    Kind = "http"    // any other http(s) media URL
	YouTube Kind = "youtube" // youtube.com/watch?v=, youtu.be/, youtube.com/live/, /shorts/
)

// Errors callers can test for with errors.Is. ErrInvalid and ErrNotAllowed
// are permanent: retrying the same input cannot succeed.
var (
	ErrInvalid     = errors.New("invalid source")
	ErrNotAllowed  = errors.New("source not allowed")
	ErrUnavailable = errors.New("source unavailable")
	ErrTimeout     = errors.New("source timed out")
)

// Spec is a classified source. It is plain data, safe to put in workflow
// inputs.
type Spec struct {
	// Raw is the string the user gave, trimmed.
	Raw  string `json:"raw"`
	Kind Kind   `json:"kind"`
	// Location is what the kind needs: a cleaned file or device path, a URL
	// (without any hls+ prefix), or for YouTube the canonical watch URL.
	Location string `json:"location"`
	// Device is the V4L2 index for webcams addressed by number, else -1.
	Device int `json:"device"`
	// VideoID is the YouTube video id.
	VideoID string `json:"video_id,omitempty"`
}

// String names the spec for logs and errors, with long query strings and
// passwords redacted.
func (s Spec) String() string { return Redact(s.Raw) }

var (
	schemeRE     = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)
	videoDevRE   = regexp.MustCompile(`^/dev/video([0-9]+)$`)
	youtubeIDRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{11}$`)
	youtubeHosts = map[string]bool{
		"youtube.com": true, "www.youtube.com": true, "m.youtube.com": true,
		"music.youtube.com": true, "youtube-nocookie.com": true,
		"www.youtube-nocookie.com": true, "youtu.be": true, "www.youtu.be": true,
	}
)

// Parse classifies s without touching the network or the file system.
func Parse(s string) (Spec, error) {
	raw := strings.TrimSpace(s)
	fail := func(format string, args ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("source %q: %s: %w", Redact(raw), fmt.Sprintf(format, args...), ErrInvalid)
	}
	if raw == "" {
		return fail("empty")
	}
	if strings.ContainsFunc(raw, isControl) {
		return fail("contains control characters")
	}
	spec := Spec{Raw: raw, Device: -1}

	// Pasted YouTube links often lack the scheme.
	lower := strings.ToLower(raw)
	for _, p := range []string{"youtube.com/", "www.youtube.com/", "m.youtube.com/", "youtu.be/"} {
		if strings.HasPrefix(lower, p) {
			raw = "https://" + raw
			break
		}
	}

	m := schemeRE.FindStringSubmatch(raw)
	if m == nil {
		// No scheme: a path, classified once cleaned so that
		// /dev/../dev/video0 is the webcam it names.
		clean := filepath.Clean(raw)
		if d := videoDevRE.FindStringSubmatch(clean); d != nil {
			n, err := deviceNumber(d[1])
			if err != nil {
				return fail("bad device number")
			}
			spec.Kind, spec.Location, spec.Device = Webcam, clean, n
			return spec, nil
		}
		if strings.HasPrefix(clean, "/dev/v4l/") {
			spec.Kind, spec.Location = Webcam, clean
			return spec, nil
		}
		spec.Kind, spec.Location = File, localPath(clean)
		return spec, nil
	}

	scheme := strings.ToLower(m[1])
	switch scheme {
	case "webcam":
		n, err := deviceNumber(raw[len(m[0]):])
		if err != nil {
			return fail("webcam wants a device number, as in webcam:0")
		}
		spec.Kind, spec.Location, spec.Device = Webcam, fmt.Sprintf("/dev/video%d", n), n
		return spec, nil
	case "file":
		u, err := url.Parse(raw)
		if err != nil {
			return fail("malformed file URL: %v", unwrapURLError(err))
		}
		if u.Host != "" && u.Host != "localhost" {
			return fail("file URLs must be local (file:///path)")
		}
		if u.Path == "" {
			return fail("file URL has no path")
		}
		// Escapes such as %00 would cut the path short in C.
		if strings.ContainsFunc(u.Path, isControl) {
			return fail("file URL path contains escaped control characters")
		}
		spec.Kind, spec.Location = File, localPath(filepath.Clean(u.Path))
		return spec, nil
	case "rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "hls+http", "hls+https":
	default:
		return fail("unsupported scheme %q (want a file path, webcam:N, rtsp, rtmp, http(s) or a YouTube link)", scheme)
	}

	declaredHLS := strings.HasPrefix(scheme, "hls+")
	loc := raw
	if declaredHLS {
		loc = raw[len("hls+"):]
		scheme = strings.TrimPrefix(scheme, "hls+")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return fail("malformed URL: %v", unwrapURLError(err))
	}
	if u.Opaque != "" || u.Host == "" {
		return fail("URL has no host (want %s://host/...)", scheme)
	}
	if u.Hostname() == "" {
		return fail("URL has no host name")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fail("port %q out of range", p)
		}
	}
	spec.Location = loc

	switch {
	case scheme == "rtsp" || scheme == "rtsps":
		spec.Kind = RTSP
	case scheme == "rtmp" || scheme == "rtmps":
		spec.Kind = RTMP
	case declaredHLS:
		spec.Kind = HLS
	case youtubeHosts[strings.ToLower(u.Hostname())]:
		id, err := youtubeID(u)
		if err != nil {
			return fail("%v", err)
		}
		spec.Kind, spec.VideoID = YouTube, id
		spec.Location = "https://www.youtube.com/watch?v=" + id
	case strings.HasSuffix(strings.ToLower(u.Path), ".m3u8"):
		spec.Kind = HLS
	default:
		spec.Kind = HTTP
	}
	return spec, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// deviceNumber parses a V4L2 device index; OpenCV takes it as a C int, so
// larger numbers would wrap around to another device.
func deviceNumber(s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("device number %q is not in 0..%d", s, math.MaxInt32)
	}
	return int(n), nil
}

// localPath keeps a cleaned relative path from reading as a URL: FFmpeg,
// which OpenCV opens files with, takes "rtsp:x" or "http:/host/x" (what
// Clean makes of "./http://host/x") as protocol:address.
func localPath(clean string) string {
	if !filepath.IsAbs(clean) && strings.Contains(clean, ":") {
		return "./" + clean
	}
	return clean
}

// youtubeID finds the video id in the URL forms people paste.
func youtubeID(u *url.URL) (string, error) {
	host := strings.ToLower(u.Hostname())
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	var id string
	switch {
	case host == "youtu.be" || host == "www.youtu.be":
		id = parts[0]
	case len(parts) == 1 && parts[0] == "watch":
		id = u.Query().Get("v")
	case len(parts) >= 2 && (parts[0] == "live" || parts[0] == "shorts" || parts[0] == "embed" || parts[0] == "v"):
		id = parts[1]
	}
	if id == "" {
		return "", errors.New("YouTube URL has no video id (want youtube.com/watch?v=ID, youtu.be/ID, youtube.com/live/ID or /shorts/ID; channel and playlist pages are not supported)")
	}
	if !youtubeIDRE.MatchString(id) {
		return "", fmt.Errorf("YouTube video id %q is not 11 characters of [A-Za-z0-9_-]", id)
	}
	return id, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// maxQuery is the longest query string shown as is; signed media URLs carry
// kilobytes of tokens that clutter logs and should not be leaked.
const maxQuery = 48

// Redact returns s fit for logs and errors: passwords are hidden and long
// query strings are cut.
func Redact(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Still cut at '?' so a malformed signed URL leaks nothing.
		if i := strings.IndexByte(s, '?'); i >= 0 && len(s)-i-1 > maxQuery {
			return s[:i] + "?…"
		}
		return s
	}
	if len(u.RawQuery) > maxQuery {
		u.RawQuery = ""
		return u.Redacted() + "?…"
	}
	return u.Redacted()
}

// hostOf returns the host of a network spec, or "" for files and devices.
func hostOf(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Hostname(), ".")
}
