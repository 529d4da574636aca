// Package web embeds the dashboard's bundle (built into web/dist by
// `make web`) so the binary serves it with no files beside it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Dist returns the built bundle rooted at its index.html, and false when the
// binary was built before the bundle (a plain `go build` without Node).
func Dist() (fs.FS, bool) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, false
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return sub, false
	}
	return sub, true
}
