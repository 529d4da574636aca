package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
)

// apiError is an error with the status and message the client should see.
// Err, when set, is the cause: it is always logged, and shown only for 502
// and 503, where it says what is wrong with the service behind the API; a
// 500's cause is an internal detail.
type apiError struct {
	Status int
	Msg    string
	Err    error
}

func (e *apiError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *apiError) Unwrap() error { return e.Err }

func badRequest(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{Status: http.StatusNotFound, Msg: fmt.Sprintf(format, args...)}
}

// statusOf returns the status an error will be answered with.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error string `json:"error"`
}

// handleError turns any handler error into a JSON error response.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "internal error"
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.Status, ae.Msg
		if (status == http.StatusBadGateway || status == http.StatusServiceUnavailable) && ae.Err != nil {
			msg = ae.Msg + ": " + ae.Err.Error()
		}
	case errors.As(err, &he):
		status = he.Code
		msg = strings.ToLower(http.StatusText(status))
		if m, ok := he.Message.(string); ok && m != "" {
			msg = strings.ToLower(m)
		}
		if status == http.StatusNotFound {
			msg = "no such route: " + c.Request().Method + " " + c.Request().URL.Path
		}
	}
	if status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "uri", c.Request().RequestURI,
			"status", status, "error", err)
	}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(status)
	} else {
		err = c.JSON(status, errorBody{Error: msg})
	}
	if err != nil {
		s.log.Error("writing error response failed", "uri", c.Request().RequestURI, "error", err)
	}
}

// logRequests logs one line per request. It renders handler errors itself
// so the logged status is the one the client got.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		route := c.Path()
		if route == "" {
			route = "unmatched" // one series for every unknown path
		}
		s.metrics.Served(route, req.Method, res.Status, time.Since(start))
		s.log.Info("request", "method", req.Method, "uri", req.RequestURI, "route", c.Path(),
			"status", res.Status, "bytes", res.Size, "duration", time.Since(start), "remote", c.RealIP())
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500 instead of a dropped
// connection, and logs the stack so the bug can be found.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(r) // net/http's way to abort a response on purpose
			}
			s.log.Error("handler panicked", "method", c.Request().Method, "uri", c.Request().RequestURI,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = &apiError{Status: http.StatusInternalServerError, Msg: "internal error"}
		}()
		return next(c)
	}
}

// errCanceled answers a request whose client went away; 499 is nginx's
// status for that, and keeps such requests out of the error log.
var errCanceled = &apiError{Status: 499, Msg: "request canceled by the client"}

// dbError classifies a PostgreSQL error: unreachable → 503 naming the
// cause, anything else → 500 (logged, not shown).
func dbError(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return errCanceled
	}
	if dbUnavailable(err) {
		return &apiError{Status: http.StatusServiceUnavailable, Msg: "database unavailable while " + what, Err: err}
	}
	return &apiError{Status: http.StatusInternalServerError, Msg: "internal error while " + what, Err: err}
}

func dbUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server answered; only "cannot connect now" classes mean unavailable.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "closed pool")
}

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// temporalError classifies a Temporal client error: unknown workflow → 404,
// duplicate → 409, unreachable → 503, anything else → 502.
func temporalError(what string, err error) error {
	var (
		nf      *serviceerror.NotFound
		started *serviceerror.WorkflowExecutionAlreadyStarted
		unavail *serviceerror.Unavailable
		timeout *serviceerror.DeadlineExceeded
	)
	switch {
	case errors.Is(err, context.Canceled):
		return errCanceled
	case errors.As(err, &nf):
		return &apiError{Status: http.StatusNotFound, Msg: what + ": not found", Err: err}
	case errors.As(err, &started):
		return &apiError{Status: http.StatusConflict, Msg: what + ": workflow already started", Err: err}
	case errors.As(err, &unavail), errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Msg: "temporal unavailable while " + what, Err: err}
	default:
		return &apiError{Status: http.StatusBadGateway, Msg: "temporal error while " + what, Err: err}
	}
}

// maxBodyBytes caps every request body: the API takes small JSON objects,
// and a client must not make it buffer more.
const maxBodyBytes = 1 << 20

var errBodyTooLarge = &apiError{Status: http.StatusRequestEntityTooLarge, Msg: "request body larger than 1 MiB"}

// limitBody refuses a declared body over maxBodyBytes before any handler
// runs, and caps undeclared (chunked) ones as they are read; decodeJSON
// turns hitting the cap into a 413. Either way net/http closes the
// connection after the answer, lingering so the client reads it instead of
// a reset.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > maxBodyBytes {
			return errBodyTooLarge
		}
		if req.Body != nil && req.Body != http.NoBody {
			req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, maxBodyBytes)
		}
		return next(c)
	}
}

// decodeJSON reads a JSON object body into v, rejecting unknown fields and
// trailing data so typos are reported instead of silently ignored. An empty
// body leaves v as it is when emptyOK.
func decodeJSON(c echo.Context, v any, emptyOK bool) error {
	r := c.Request().Body
	if r == nil { // a request built by hand rather than by the server
		r = http.NoBody
	}
	body, err := io.ReadAll(r) // capped by limitBody
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return errBodyTooLarge
	case errors.Is(err, context.Canceled):
		return errCanceled
	case err != nil:
		return badRequest("reading request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return badRequest("request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return badRequest("malformed JSON body: field %q must be a %s", typeErr.Field, typeErr.Type)
		}
		return badRequest("malformed JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("malformed JSON body: unexpected data after the JSON object")
	}
	return nil
}

const (
	defaultLimit = 50
	maxLimit     = 1000
)

// limitParam reads ?limit=N (1..1000, default 50).
func limitParam(c echo.Context) (int, error) {
	return intParam(c, "limit", defaultLimit, 1, maxLimit)
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("invalid %s %q: must be an integer from %d to %d", name, shortened(raw), lo, hi)
	}
	return n, nil
}
