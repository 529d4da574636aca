// Package sourcetest fakes the outside services sources depend on, for
// tests: YouTube's player API, as github.com/kkdai/youtube/v2 calls it.
package sourcetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// YouTube is an http.RoundTripper that answers the requests kkdai/youtube
// v2.10.4 makes:
//
//	GET  https://www.youtube.com                     visitor id (ytcfg.set)
//	POST https://www.youtube.com/youtubei/v1/player  player response JSON
//	GET  https://youtube.com/embed/ID?hl=en          page naming the player base.js
//	GET  https://youtube.com/s/player/.../base.js    player code (only scanned
//	     for the "n" decoder when a stream URL has a "v" parameter)
type YouTube struct {
	// Players maps a video id to its player response.
	Players map[string]any

	mu       sync.Mutex
	requests []string
}

// LivePlayer is the player response of a live video whose HLS manifest is
// manifestURL.
func LivePlayer(videoID, manifestURL string) map[string]any {
	return map[string]any{
		"playabilityStatus": map[string]any{"status": "OK", "playableInEmbed": true},
		"streamingData": map[string]any{
			"expiresInSeconds": "21540",
			"hlsManifestUrl":   manifestURL,
			"adaptiveFormats": []any{map[string]any{
				"itag": 136, "mimeType": `video/mp4; codecs="avc1.4d401f"`, "bitrate": 2500000, "width": 1280, "height": 720,
				"url": "https://rr4---sn-fake.googlevideo.com/videoplayback?itag=136",
			}},
		},
		"videoDetails": map[string]any{"videoId": videoID, "title": "A live cam", "lengthSeconds": "0", "isLiveContent": true},
	}
}

// RoundTrip answers one request.
func (f *YouTube) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req.Method+" "+req.URL.Host+req.URL.Path)
	f.mu.Unlock()
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	const basejs = "/s/player/0123abcd/player_ias.vflset/en_US/base.js"
	switch {
	case req.Method == http.MethodGet && req.URL.Host == "www.youtube.com" && (req.URL.Path == "" || req.URL.Path == "/"):
		return respond(200, "<html><script>\nytcfg.set({\"INNERTUBE_CONTEXT\":{\"client\":{\"visitorData\":\"CgtGYWtlVmlzaXRvcg%3D%3D\"}}});</script></html>"), nil
	case req.Method == http.MethodPost && req.URL.Path == "/youtubei/v1/player":
		var body struct {
			VideoID string `json:"videoId"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
			return respond(400, err.Error()), nil
		}
		pr, ok := f.Players[body.VideoID]
		if !ok {
			return respond(404, "unknown video"), nil
		}
		b, _ := json.Marshal(pr)
		return respond(200, string(b)), nil
	case req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/embed/"):
		return respond(200, `<html><script src="`+basejs+`"></script></html>`), nil
	case req.Method == http.MethodGet && req.URL.Path == basejs:
		return respond(200, "var player={};"), nil
	}
	return respond(404, "not faked: "+req.Method+" "+req.URL.String()), nil
}

// Requests lists the requests so far as "METHOD hostpath".
func (f *YouTube) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// Count is the number of requests so far that start with prefix.
func (f *YouTube) Count(prefix string) int {
	n := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func respond(code int, body string) *http.Response {
	return &http.Response{
		StatusCode: code,
		Status:     fmt.Sprintf("%d %s", code, http.StatusText(code)),
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}
