package api

import (
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// notBuiltPage answers / when the binary was built without the dashboard's
// bundle (a plain `go build`, no Node.js).
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sightline</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Sightline</h1>
<p>The API is running, but this binary was built without the dashboard.</p>
<p>Build it with <code>make build</code> (it needs Node.js and npm: <code>make deps</code> installs them),
then restart <code>sightline dev</code> or <code>sightline api</code>.</p>
<p>The API itself is described at <a href="/api/v1/openapi.yaml">/api/v1/openapi.yaml</a>.</p>
</body></html>
`

// dashboardRoutes serves the embedded dashboard: index.html at / and its
// assets under /assets/. Neither holds data, so both stay open when tokens
// are set: the page asks for a token when the API answers 401.
func (s *Server) dashboardRoutes(e *echo.Echo, dist fs.FS) {
	page := []byte(notBuiltPage)
	if dist != nil {
		if p, err := fs.ReadFile(dist, "index.html"); err == nil {
			page = p
		}
	}
	e.GET("/", func(c echo.Context) error {
		h := c.Response().Header()
		// The assets' URLs carry their hash; the page itself must be fresh.
		h.Set(echo.HeaderCacheControl, "no-cache")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'")
		return c.HTMLBlob(http.StatusOK, page)
	})
	e.GET("/assets/:file", func(c echo.Context) error {
		name := c.Param("file")
		if dist == nil || name == "" || strings.Contains(name, "..") {
			return notFound("no dashboard asset %q", shortened(name))
		}
		body, err := fs.ReadFile(dist, path.Join("assets", name))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			return notFound("no dashboard asset %q", shortened(name))
		}
		if err != nil {
			return err
		}
		// Asset URLs change with their content (?v=hash in index.html).
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
		return c.Blob(http.StatusOK, contentType(name), body)
	})
}

func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return echo.MIMEOctetStream
}
