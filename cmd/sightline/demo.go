package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sightline-video/sightline/internal/config"
)

// runDemo drives the running stack through its HTTP API the way a user
// would: register the sample stream, capture every frame, print rankings.
func runDemo(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	apiURL := fs.String("api", "http://"+cfg.APIAddress, "Sightline API base URL")
	video := fs.String("video", ".data/samples/vtest.avi", "video file to capture")
	stream := fs.String("stream", "vtest", "stream id to register it under")
	everyMS := fs.Int("every-ms", 0, "sample one frame per this many ms (0: every frame)")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := apiClient{base: strings.TrimRight(*apiURL, "/"), token: apiToken(cfg, true)}
	src, err := filepath.Abs(*video)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "Dashboard: %s/ (the capture shows there live)\n", c.base)
	fmt.Fprintf(stdout, "waiting for the API at %s ...\n", c.base)
	if err := c.waitHealthy(ctx); err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/streams", map[string]any{
		"id": *stream, "name": "Pedestrians (OpenCV sample vtest.avi)", "source": src,
	}, nil); err != nil {
		return fmt.Errorf("register stream: %w", err)
	}
	var started struct {
		CaptureID string `json:"capture_id"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/streams/"+*stream+"/captures",
		map[string]any{"every_ms": *everyMS}, &started); err != nil {
		return fmt.Errorf("start capture: %w", err)
	}
	fmt.Fprintf(stdout, "capture %s started for stream %q (%s)\n", started.CaptureID, *stream, src)
	fmt.Fprintf(stdout, "follow it at %s/#/captures/%s\n", c.base, url.PathEscape(started.CaptureID))

	t0 := time.Now()
	for {
		var st struct {
			Status         string `json:"status"`
			Error          string `json:"error"`
			FramesCaptured int    `json:"frames_captured"`
			ChunksWritten  int    `json:"chunks_written"`
			ChunksDetected int    `json:"chunks_detected"`
			FramesAnalysed int    `json:"frames_analysed"`
			Detections     int    `json:"detections"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/captures/"+started.CaptureID, nil, &st); err != nil {
			return fmt.Errorf("capture status: %w", err)
		}
		fmt.Fprintf(stdout, "  %5.0fs  %-9s captured %4d frames, %2d/%2d chunks detected, %4d frames analysed, %5d detections\n",
			time.Since(t0).Seconds(), st.Status, st.FramesCaptured, st.ChunksDetected, st.ChunksWritten,
			st.FramesAnalysed, st.Detections)
		if st.Status == "completed" {
			break
		}
		if st.Status == "failed" || st.Status == "canceled" {
			return fmt.Errorf("capture %s %s: %s", started.CaptureID, st.Status, st.Error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("capture %s: %w", started.CaptureID, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}

	var objects []struct {
		Rank        int     `json:"rank"`
		Object      string  `json:"object"`
		AvgPerFrame float64 `json:"avg_per_frame"`
		MaxPerFrame int     `json:"max_per_frame"`
		Objects     int     `json:"objects"`
		Frames      int     `json:"frames"`
		Unique      int     `json:"unique_objects"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/streams/"+*stream+"/objects", nil, &objects); err != nil {
		return fmt.Errorf("ranked objects: %w", err)
	}
	if len(objects) == 0 {
		return fmt.Errorf("stream %q has no ranked objects after the capture", *stream)
	}
	fmt.Fprintf(stdout, "\nObjects in stream %q, ranked by average per analysed frame:\n", *stream)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\tobject\tavg/frame\tmax/frame\tobjects\tframes\tcounted once\t")
	for _, o := range objects {
		fmt.Fprintf(tw, "%d\t%s\t%.2f\t%d\t%d\t%d\t%d\t\n", o.Rank, o.Object, o.AvgPerFrame, o.MaxPerFrame, o.Objects, o.Frames, o.Unique)
	}
	tw.Flush()

	host := func(addr string) string { return strings.Split(addr, ":")[0] }
	fmt.Fprintf(stdout, "\nTemporal UI:    http://%s:8233/namespaces/%s/workflows/%s\n",
		host(cfg.TemporalAddress), cfg.TemporalNamespace, url.PathEscape(started.CaptureID))
	fmt.Fprintf(stdout, "API:            %s/api/v1/streams/%s/objects\n", c.base, *stream)
	fmt.Fprintf(stdout, "                %s/api/v1/rankings/streams?object=person\n", c.base)
	fmt.Fprintf(stdout, "MinIO console:  http://%s:9001 (bucket %s, user %s)\n",
		host(cfg.MinIOEndpoint), cfg.MinIOBucket, cfg.MinIOAccessKey)
	fmt.Fprintf(stdout, "Dashboard:      %s/#/streams/%s\n", c.base, url.PathEscape(*stream))
	return nil
}

// apiToken is the bearer token a command sends to make changes (write) or
// to read. Either token stands in for a missing other: the write token can
// read, and a read token set alone guards every request.
func apiToken(cfg config.Config, write bool) string {
	first, second := cfg.APIReadToken, cfg.APIToken
	if write {
		first, second = second, first
	}
	if first != "" {
		return first
	}
	return second
}

// apiClient calls the API; token, when set, is sent as a bearer token.
type apiClient struct {
	base  string
	token string
}

func (c apiClient) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last error
	for {
		if last = c.do(ctx, http.MethodGet, "/healthz", nil, nil); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("API at %s not healthy: %w (is `make up` running?)", c.base, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
func (c apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}
