package api

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// maxIDLen bounds the capture and schedule ids taken from a path.
const maxIDLen = 255

// idPattern is every capture and schedule id the system makes: capture ids
// are workflow ids ("capture-<stream>-<time>-<hex>", and a schedule's
// "capture-<stream>-sched[-<schedule>]-2026-01-02T03:04:05Z", whose time
// Temporal appends with ':'), schedule ids are letters, digits, '.', '_' and
// '-'. Anything else cannot exist, and must not reach Temporal, which sends
// ids in gRPC headers that reject non-ASCII bytes.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// validID reports whether id could be a capture or schedule id.
func validID(id string) bool {
	return len(id) <= maxIDLen && idPattern.MatchString(id)
}

// idParam returns the path parameter name when it could be an id of what
// ("capture", "schedule"), else a 404 as for any id that does not exist,
// without asking the database or Temporal.
func idParam(c echo.Context, name, what string) (string, error) {
	id := c.Param(name)
	if !validID(id) {
		return "", notFound("%s %q not found", what, shortened(id))
	}
	return id, nil
}

// shortened keeps an echoed id to a readable length.
func shortened(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// checkQuery refuses query parameters PostgreSQL cannot take as text
// (invalid UTF-8, NUL bytes) with a 400 before any handler passes them to
// a query, where they would fail as a 500.
func checkQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for name, values := range c.QueryParams() {
			if !validText(name) {
				return badRequest("invalid query parameter name %q: must be UTF-8 without NUL bytes", shortened(name))
			}
			for _, v := range values {
				if !validText(v) {
					return badRequest("invalid %s %q: must be UTF-8 without NUL bytes", shortened(name), shortened(v))
				}
			}
		}
		return next(c)
	}
}

func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
