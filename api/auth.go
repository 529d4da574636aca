package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// openRoutes need no token: probes must reach /healthz, the OpenAPI
// document is the public description of how to authenticate, and the
// dashboard asks for a token itself.
var openRoutes = map[string]bool{
	"/healthz":             true,
	"/api/v1/openapi.yaml": true,
	"/":                    true, // the dashboard's page and assets hold no data
	"/assets/:file":        true,
}

// authRealm is the realm named in WWW-Authenticate.
const authRealm = `Bearer realm="sightline"`

// isRead reports whether a method only reads. Every other method, including
// ones the API does not route, needs the write token, so an unknown method
// cannot slip past the check.
func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// authenticate checks the bearer token before any handler runs, so a
// refused request reads no body and touches neither the database nor
// Temporal. With no tokens configured every request passes.
//
// The write token (Deps.Token) guards changes and can also read; the read
// token (Deps.ReadToken) guards reads. A read token alone guards every
// request, so adding a token never opens anything.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.token == "" && s.readToken == "" {
			return next(c)
		}
		req := c.Request()
		if openRoutes[c.Path()] && isRead(req.Method) {
			return next(c)
		}
		read := isRead(req.Method)
		if read && s.readToken == "" {
			return next(c)
		}
		got, ok := bearerToken(req.Header.Get(echo.HeaderAuthorization))
		if !ok {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, authRealm)
			return &apiError{Status: http.StatusUnauthorized, Msg: "missing bearer token: send Authorization: Bearer <token>"}
		}
		isWrite := tokensEqual(s.token, got)
		isReadTok := tokensEqual(s.readToken, got)
		switch {
		case isWrite:
			return next(c)
		case isReadTok && (read || s.token == ""):
			return next(c)
		case isReadTok:
			// A valid token without the right to change anything.
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, authRealm+`, error="insufficient_scope"`)
			return &apiError{Status: http.StatusForbidden, Msg: "the read token cannot make changes: use the write token"}
		}
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, authRealm+`, error="invalid_token"`)
		return &apiError{Status: http.StatusUnauthorized, Msg: "invalid bearer token"}
	}
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 7235).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// tokensEqual reports whether got is the configured token want, in time
// that does not depend on how much of it matched: it compares SHA-256
// digests, whose fixed size also keeps the token's length from leaking. An
// empty want (no token configured) matches nothing.
func tokensEqual(want, got string) bool {
	if want == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
