package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/api/serviceerror"
)

// The paths to 409 and some 502s cannot be provoked on a healthy server, so
// the classification is checked directly.
func TestErrorClassification(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"temporal not found", temporalError("x", serviceerror.NewNotFound("gone")), http.StatusNotFound},
		{"temporal already started", temporalError("x", serviceerror.NewWorkflowExecutionAlreadyStarted("dup", "", "")), http.StatusConflict},
		{"temporal unavailable", temporalError("x", serviceerror.NewUnavailable("down")), http.StatusServiceUnavailable},
		{"temporal deadline", temporalError("x", fmt.Errorf("call: %w", context.DeadlineExceeded)), http.StatusServiceUnavailable},
		{"temporal other", temporalError("x", serviceerror.NewInvalidArgument("bad")), http.StatusBadGateway},
		{"temporal canceled", temporalError("x", context.Canceled), 499},
		{"db server error", dbError("x", &pgconn.PgError{Code: "42703"}), http.StatusInternalServerError},
		{"db shutting down", dbError("x", &pgconn.PgError{Code: "57P01"}), http.StatusServiceUnavailable},
		{"db canceled", dbError("x", context.Canceled), 499},
		{"db scan bug", dbError("x", errors.New("can't scan into dest[0]")), http.StatusInternalServerError},
	}
	for _, c := range cases {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("%s: status %d, want %d (%v)", c.name, got, c.want, c.err)
		}
	}
}
