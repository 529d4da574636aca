package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/kkdai/youtube/v2"
)

// Resolved is what OpenCV should open for a spec.
type Resolved struct {
	Spec Spec `json:"spec"`
	// Kind is the kind of Target: a YouTube spec resolves to HLS (live) or
	// HTTP (a recorded video's progressive stream); other kinds keep theirs.
	Kind Kind `json:"kind"`
	// Target is the path, device or URL to open. Resolved YouTube URLs are
	// signed and expire after hours: resolve again before every open.
	Target string `json:"target"`
	// Live is true for sources without an end (webcams, RTSP, RTMP, HLS,
	// live YouTube): reading them tracks the present, and a reconnect
	// resumes at the live edge rather than at a frame index.
	Live bool `json:"live"`
}

// String names the source for logs and errors.
func (r Resolved) String() string { return r.Spec.String() }

// Resolver turns a spec into something OpenCV can open.
type Resolver interface {
	Resolve(ctx context.Context, spec Spec) (Resolved, error)
}

// DefaultResolver applies Policy, passes files, devices and URLs through,
// and looks YouTube videos up with github.com/kkdai/youtube/v2. Its zero
// value uses the strict zero Policy; it is safe for concurrent use.
type DefaultResolver struct {
	Policy Policy
	// DNS resolves hosts for the policy check (net.DefaultResolver if nil).
	DNS HostResolver
	// HTTPClient carries the YouTube requests; nil means a client with a
	// 30 s timeout.
	HTTPClient *http.Client
}

var defaultYouTubeHTTP = &http.Client{Timeout: 30 * time.Second}

// Resolve checks the policy and finds the target. It does no caching: each
// call asks YouTube again, since its manifests and stream URLs expire.
func (r *DefaultResolver) Resolve(ctx context.Context, spec Spec) (Resolved, error) {
	if err := r.Policy.Check(ctx, spec, r.DNS); err != nil {
		return Resolved{}, err
	}
	res := Resolved{Spec: spec, Kind: spec.Kind, Target: spec.Location}
	switch spec.Kind {
	case File:
		st, err := os.Stat(spec.Location)
		if err != nil {
			return Resolved{}, fmt.Errorf("source %s: %v: %w", spec, err, ErrInvalid) //nolint:errorlint // the kind is what callers match, not the cause
		}
		if st.IsDir() {
			return Resolved{}, fmt.Errorf("source %s: is a directory: %w", spec, ErrInvalid)
		}
	case Webcam, RTSP, RTMP, HLS:
		// HLS given directly is taken as live; a VOD playlist simply ends.
		res.Live = true
	case HTTP:
	case YouTube:
		yt, err := r.resolveYouTube(ctx, spec)
		if err != nil {
			return Resolved{}, err
		}
		if err := r.Policy.CheckURL(ctx, yt.Target, r.DNS); err != nil {
			return Resolved{}, fmt.Errorf("source %s: resolved stream: %w", spec, err)
		}
		res = yt
	default:
		return Resolved{}, fmt.Errorf("source %s: unknown kind %q: %w", spec, spec.Kind, ErrInvalid)
	}
	return res, nil
}

func (r *DefaultResolver) resolveYouTube(ctx context.Context, spec Spec) (Resolved, error) {
	hc := r.HTTPClient
	if hc == nil {
		hc = defaultYouTubeHTTP
	}
	// A new client per call: youtube.Client keeps unsynchronised state
	// (visitor id, player cache, a client kind it switches on age gates).
	client := &youtube.Client{HTTPClient: hc}
	v, err := client.GetVideoContext(ctx, spec.VideoID)
	if err != nil {
		return Resolved{}, fmt.Errorf("source %s: look up YouTube video %s: %v: %w", spec, spec.VideoID, err, youtubeErrKind(err)) //nolint:errorlint // the kind is what callers match, not the cause
	}
	res := Resolved{Spec: spec}
	// A live broadcast has an HLS manifest and no duration; recorded videos
	// may carry a manifest too but read better as one progressive stream.
	if v.HLSManifestURL != "" && v.Duration == 0 {
		res.Kind, res.Target, res.Live = HLS, v.HLSManifestURL, true
		return res, nil
	}
	f := bestFormat(v.Formats)
	if f == nil {
		if v.HLSManifestURL != "" {
			res.Kind, res.Target = HLS, v.HLSManifestURL
			return res, nil
		}
		return Resolved{}, fmt.Errorf("source %s: YouTube video %s has no format with video that OpenCV can read: %w", spec, spec.VideoID, ErrUnavailable)
	}
	u, err := client.GetStreamURLContext(ctx, v, f)
	if err != nil {
		return Resolved{}, fmt.Errorf("source %s: stream URL for YouTube video %s (itag %d): %v: %w", spec, spec.VideoID, f.ItagNo, err, ErrUnavailable) //nolint:errorlint // the kind is what callers match, not the cause
	}
	res.Kind, res.Target = HTTP, u
	return res, nil
}

// youtubeErrKind tells permanent refusals (private, removed, age-gated)
// from failures worth retrying.
func youtubeErrKind(err error) error {
	var ps *youtube.ErrPlayabiltyStatus
	switch {
	case errors.Is(err, youtube.ErrVideoPrivate), errors.Is(err, youtube.ErrLoginRequired),
		errors.Is(err, youtube.ErrNotPlayableInEmbed), errors.As(err, &ps),
		errors.Is(err, youtube.ErrInvalidCharactersInVideoID), errors.Is(err, youtube.ErrVideoIDMinLength):
		return ErrInvalid
	}
	return ErrUnavailable
}

// maxHeight caps the resolution picked: detectors downscale anyway, and
// larger frames only cost decode time and bandwidth.
const maxHeight = 1080

// bestFormat picks the format to read: progressive (audio and video in one
// file, which YouTube serves without range tricks) over video-only, MP4
// over other containers, H.264 over other codecs, then the highest height
// up to maxHeight (the lowest above it if none fits), then bitrate.
func bestFormat(formats youtube.FormatList) *youtube.Format {
	var cands []*youtube.Format
	for i := range formats {
		f := &formats[i]
		if f.Height <= 0 || !strings.HasPrefix(f.MimeType, "video/") || (f.URL == "" && f.Cipher == "") {
			continue
		}
		cands = append(cands, f)
	}
	if len(cands) == 0 {
		return nil
	}
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	key := func(f *youtube.Format) [5]int {
		h := f.Height
		if h > maxHeight {
			h = -h // fits nowhere: prefer the smallest oversize
		}
		return [5]int{
			b2i(f.AudioChannels > 0 || f.AudioQuality != ""),
			b2i(strings.HasPrefix(f.MimeType, "video/mp4")),
			b2i(strings.Contains(f.MimeType, "avc1")),
			h,
			f.Bitrate,
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := key(cands[i]), key(cands[j])
		for k := range a {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return false
	})
	return cands[0]
}
