package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/sightline-video/sightline/internal/config"
)

const lifecycleUsage = `usage:
  sightline cancel CAPTURE_ID          stop a running capture; what it stored is kept, detected and rolled up
  sightline delete capture CAPTURE_ID  remove a finished capture: its chunks, rows and counts
  sightline delete stream STREAM_ID    remove a stream with its schedules and captures (none may be running)
  sightline retention run              enforce the retention policy now

They call the API at $SIGHTLINE_API_ADDR with $SIGHTLINE_API_TOKEN.
`

// runLifecycle implements cancel, delete and retention through the API, so
// they obey its checks (a running capture cannot be deleted) and its token.
func runLifecycle(ctx context.Context, cfg config.Config, cmd string, args []string, stdout io.Writer) error {
	var method, path string
	switch {
	case cmd == "cancel" && len(args) == 1:
		method, path = http.MethodPost, "/api/v1/captures/"+url.PathEscape(args[0])+"/cancel"
	case cmd == "delete" && len(args) == 2 && args[0] == "capture":
		method, path = http.MethodDelete, "/api/v1/captures/"+url.PathEscape(args[1])
	case cmd == "delete" && len(args) == 2 && args[0] == "stream":
		method, path = http.MethodDelete, "/api/v1/streams/"+url.PathEscape(args[1])
	case cmd == "retention" && len(args) == 1 && args[0] == "run":
		method, path = http.MethodPost, "/api/v1/retention/run"
	default:
		return fmt.Errorf("unexpected arguments %q\n%s", args, lifecycleUsage)
	}
	c := apiClient{base: "http://" + cfg.APIAddress, token: apiToken(cfg, true)}
	var out json.RawMessage
	if err := c.do(ctx, method, path, nil, &out); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "%s\n", out)
	return err
}
