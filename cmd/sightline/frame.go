package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/annotate"
	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/detector"
)

// runFrame implements `sightline frame`: fetch a stored frame through the
// API (GET /api/v1/captures/{id}/frames/{index}) and write it to a file. It
// goes through the API rather than reading MinIO and PostgreSQL itself, so
// it needs no service credentials and sees exactly what the dashboard sees.
func runFrame(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("frame", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sightline frame --capture ID --index N [--annotated [--min-score S] [--classes a,b]] -o FILE.jpg")
		fs.PrintDefaults()
	}
	apiURL := fs.String("api", "http://"+cfg.APIAddress, "Sightline API base URL (from SIGHTLINE_API_ADDR)")
	capture := fs.String("capture", "", "capture id (required)")
	index := fs.Int("index", -1, "frame index in the source (required)")
	annotated := fs.Bool("annotated", false, "draw the frame's detections on it")
	minScore := fs.Float64("min-score", -1, "with --annotated, leave out detections scoring below this (-1: the API's default, 0.3)")
	classes := fs.String("classes", "", "with --annotated, draw only these classes (comma-separated)")
	out := fs.String("o", "", "output file, or - for standard output (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *capture == "":
		return errors.New("--capture is required")
	case *index < 0:
		return errors.New("--index is required and must not be negative")
	case *out == "":
		return errors.New("-o is required (a file name, or - for standard output)")
	case *minScore != -1 && (*minScore < 0 || *minScore > 1):
		return fmt.Errorf("--min-score %v: must be between 0 and 1", *minScore)
	}

	q := url.Values{}
	if *annotated {
		q.Set("annotated", "true")
		if *minScore != -1 {
			q.Set("min_score", strconv.FormatFloat(*minScore, 'f', -1, 64))
		}
		if *classes != "" {
			q.Set("classes", *classes)
		}
	}
	u := strings.TrimRight(*apiURL, "/") + "/api/v1/captures/" + url.PathEscape(*capture) + "/frames/" + strconv.Itoa(*index)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	what := fmt.Sprintf("frame %d of capture %s", *index, *capture)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	body, hdr, err := fetchJPEG(ctx, u, apiToken(cfg, false))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if *out == "-" {
		_, err := stdout.Write(body)
		return err
	}
	if err := writeFileAtomic(*out, body); err != nil {
		return err
	}
	note := ""
	if *annotated {
		note = fmt.Sprintf(", %s detections drawn", hdr.Get("X-Sightline-Detections"))
		if hdr.Get("X-Sightline-Analysed") == "false" {
			note = ", not analysed yet: nothing drawn"
		}
	}
	_, err = fmt.Fprintf(stdout, "wrote %s (%s, %d bytes%s)\n", *out, what, len(body), note)
	return err
}

// fetchJPEG GETs u, sending token (if any) as a bearer token, and returns
// the JPEG body, or the API's error message.
func fetchJPEG(ctx context.Context, u, token string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("request %s: %w", u, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w (is the API running? see SIGHTLINE_API_ADDR)", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: read body: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
			return nil, nil, fmt.Errorf("%s (HTTP %d)", eb.Error, resp.StatusCode)
		}
		return nil, nil, fmt.Errorf("GET %s: HTTP %d: %.200s", u, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "image/jpeg" {
		return nil, nil, fmt.Errorf("GET %s: answer is %q, not image/jpeg", u, ct)
	}
	return body, resp.Header, nil
}

// writeFileAtomic writes through a temporary file in the same folder, so a
// failed write never leaves half an image under the final name.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// annotateDirs maps each input of `detect --annotate ROOT` to the folder its
// frames go to: ROOT itself for one input, ROOT/<input name> for several, so
// their frame numbers do not collide. It creates the folders.
func annotateDirs(root string, inputs []string) (map[string]string, error) {
	if root == "" {
		return nil, nil
	}
	dirs := map[string]string{}
	used := map[string]bool{}
	for _, in := range inputs {
		if _, ok := dirs[in]; ok {
			continue
		}
		dir := root
		if len(inputs) > 1 {
			name := unsafeName.ReplaceAllString(strings.TrimSuffix(filepath.Base(in), filepath.Ext(in)), "_")
			if name == "" || name == "." || name == ".." {
				name = "input"
			}
			base := name
			for n := 2; used[name]; n++ {
				name = base + "-" + strconv.Itoa(n)
			}
			used[name] = true
			dir = filepath.Join(root, name)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("--annotate: %w", err)
		}
		dirs[in] = dir
	}
	return dirs, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// writeAnnotated draws dets on a copy of img and writes it as
// dir/frame_%06d.jpg.
func writeAnnotated(dir string, frame int, img gocv.Mat, dets []detector.Detection) error {
	path := filepath.Join(dir, fmt.Sprintf("frame_%06d.jpg", frame))
	cp := img.Clone()
	defer cp.Close()
	if err := annotate.Draw(&cp, dets); err != nil {
		return fmt.Errorf("annotate %s: %w", path, err)
	}
	b, err := annotate.EncodeJPEG(cp, 0)
	if err != nil {
		return fmt.Errorf("annotate %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("annotate: %w", err)
	}
	return nil
}
