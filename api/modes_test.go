package api

import (
	"net/http"
	"testing"
)

func TestStreamMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.expect(http.MethodPost, "/api/v1/streams", `{"id":"dock","source":"/v.avi"}`, http.StatusCreated, nil)
	var st Stream
	e.get("/api/v1/streams/dock", http.StatusOK, &st)
	if st.Mode != "" {
		t.Errorf("a new stream's mode is %q, want empty (by source)", st.Mode)
	}

	var sw ModeSwitched
	e.expect(http.MethodPut, "/api/v1/streams/dock/mode", `{"mode":"realtime"}`, http.StatusOK, &sw)
	if sw.Mode != "realtime" || len(sw.Captures) != 0 || len(sw.StreamWorkflows) != 0 {
		t.Errorf("switched %+v: nothing runs, so nothing else takes it", sw)
	}
	e.get("/api/v1/streams/dock", http.StatusOK, &st)
	if st.Mode != "realtime" {
		t.Errorf("the stream's mode is %q after the switch", st.Mode)
	}
	// Registering the stream again with a mode sets it too.
	e.expect(http.MethodPost, "/api/v1/streams", `{"id":"dock","source":"/v.avi","mode":"complete"}`, http.StatusOK, &st)
	if st.Mode != "complete" {
		t.Errorf("mode %q after POST /streams with complete", st.Mode)
	}

	e.wantError(http.MethodPut, "/api/v1/streams/dock/mode", `{"mode":"fast"}`, http.StatusBadRequest, `"fast" is not a mode`)
	e.wantError(http.MethodPut, "/api/v1/streams/dock/mode", `{"mode":"realtime","extra":1}`, http.StatusBadRequest, "extra")
	e.wantError(http.MethodPut, "/api/v1/streams/nope/mode", `{"mode":"realtime"}`, http.StatusNotFound, `stream "nope" not found`)
	e.wantError(http.MethodPost, "/api/v1/streams", `{"id":"x","source":"/v.avi","mode":"batch"}`, http.StatusBadRequest, `"batch" is not a mode`)
	e.wantError(http.MethodPost, "/api/v1/streams/dock/captures", `{"max_lag_seconds":-1}`, http.StatusBadRequest, "max_lag_seconds")
}
