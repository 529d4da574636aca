package api

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/sightline-video/sightline/internal/counting"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/schedule"
	"github.com/sightline-video/sightline/internal/source"
	"github.com/sightline-video/sightline/internal/testenv"
)

// This file proves api/openapi.yaml describes the server: it parses and
// validates the document with kin-openapi, then checks it against the echo
// routes, the Go types the handlers decode and encode, the statuses they
// answer, and live responses.

// specUses says which services a handler reaches and how their errors are
// classified; it decides the 5xx statuses an operation documents.
type specUses uint8

const (
	useDB       specUses = 1 << iota // dbError: 500, or 503 when PostgreSQL is unreachable
	useTemporal                      // temporalError: 502, or 503 when Temporal is unreachable
	useStore                         // storeError: 502, or 503 when MinIO is unreachable
	usePurge                         // purgeError: 500 for anything but not found and running; 503 without an object store
)

// specOp is what the handler of one operation takes and answers.
type specOp struct {
	// body is a value of the Go type the handler decodes the request body
	// into; nil when it reads none.
	body any
	// responses maps each status with a body other than errorBody to a
	// value of the Go type encoded; a nil value is a body that is not JSON
	// (a JPEG, this document) or none (204). Every 2xx is listed.
	responses map[int]any
	uses      specUses
	// extra are statuses beyond the rules of wantStatuses.
	extra []int
}

// specOps is every operation, by "METHOD /path" as the spec writes it.
var specOps = map[string]specOp{
	"GET /healthz":             {responses: map[int]any{200: Health{}, 503: Health{}}},
	"GET /metrics":             {responses: map[int]any{200: nil}},
	"GET /api/v1/openapi.yaml": {responses: map[int]any{200: nil}},
	"GET /":                    {responses: map[int]any{200: nil}},
	"GET /assets/{file}":       {responses: map[int]any{200: nil}},

	"GET /api/v1/streams":      {responses: map[int]any{200: []Stream{}}, uses: useDB},
	"POST /api/v1/streams":     {body: StreamRequest{}, responses: map[int]any{200: Stream{}, 201: Stream{}}, uses: useDB},
	"GET /api/v1/streams/{id}": {responses: map[int]any{200: Stream{}}, uses: useDB},
	"DELETE /api/v1/streams/{id}": {responses: map[int]any{200: Deleted{}}, uses: useDB | useTemporal | usePurge,
		extra: []int{http.StatusConflict}},
	"POST /api/v1/streams/{id}/captures": {body: contract.Settings{}, responses: map[int]any{202: CaptureStarted{}},
		uses: useDB | useTemporal, extra: []int{http.StatusConflict}},
	"GET /api/v1/streams/{id}/captures":  {responses: map[int]any{200: []Capture{}}, uses: useDB},
	"PUT /api/v1/streams/{id}/mode":      {body: ModeRequest{}, responses: map[int]any{200: ModeSwitched{}}, uses: useDB},
	"GET /api/v1/streams/{id}/objects":   {responses: map[int]any{200: []ObjectRank{}}, uses: useDB},
	"GET /api/v1/streams/{id}/counts":    {responses: map[int]any{200: []CountPoint{}}, uses: useDB},
	"GET /api/v1/streams/{id}/series":    {responses: map[int]any{200: []Series{}}, uses: useDB},
	"GET /api/v1/streams/{id}/tracks":    {responses: map[int]any{200: []Track{}}, uses: useDB},
	"GET /api/v1/streams/{id}/unique":    {responses: map[int]any{200: []UniquePoint{}}, uses: useDB},
	"GET /api/v1/streams/{id}/crossings": {responses: map[int]any{200: []CrossingPoint{}}, uses: useDB},
	"GET /api/v1/streams/{id}/zones":     {responses: map[int]any{200: []ZonePoint{}}, uses: useDB},

	"GET /api/v1/captures":      {responses: map[int]any{200: []Capture{}}, uses: useDB},
	"GET /api/v1/models":        {responses: map[int]any{200: []Model{}}, extra: []int{http.StatusInternalServerError}},
	"GET /api/v1/captures/{id}": {responses: map[int]any{200: CaptureStatus{}}, uses: useDB | useTemporal},
	// The rollup started afterwards is best-effort: its errors are logged.
	"DELETE /api/v1/captures/{id}": {responses: map[int]any{200: Deleted{}}, uses: usePurge,
		extra: []int{http.StatusConflict}},
	"POST /api/v1/captures/{id}/cancel": {responses: map[int]any{202: CaptureCanceling{}}, uses: useTemporal,
		extra: []int{http.StatusConflict}},
	// 503 also when no object store is configured; 500 for a chunk that
	// does not decode.
	"GET /api/v1/captures/{id}/frames/{index}": {responses: map[int]any{200: nil}, uses: useDB | useStore,
		extra: []int{http.StatusGone, http.StatusInternalServerError}},
	"GET /api/v1/captures/{id}/frames":                    {responses: map[int]any{200: []FrameSummary{}}, uses: useDB},
	"GET /api/v1/captures/{id}/frames/{index}/detections": {responses: map[int]any{200: AnalysedFrame{}}, uses: useDB},
	"GET /api/v1/streams/{id}/frames/latest":              {responses: map[int]any{200: AnalysedFrame{}}, uses: useDB},
	"GET /api/v1/events":                                  {responses: map[int]any{200: nil}, uses: useDB},
	"POST /api/v1/retention/run":                          {body: struct{}{}, responses: map[int]any{202: RetentionStarted{}}, uses: useTemporal},

	"GET /api/v1/rankings/streams":         {responses: map[int]any{200: []StreamRank{}}, uses: useDB},
	"GET /api/v1/rankings/streams/overall": {responses: map[int]any{200: []StreamOverall{}}, uses: useDB},
	"GET /api/v1/rankings/objects":         {responses: map[int]any{200: []ObjectOverall{}}, uses: useDB},

	"GET /api/v1/schedules": {responses: map[int]any{200: []schedule.Summary{}}, uses: useTemporal},
	// 404: the spec's stream is not registered.
	"POST /api/v1/schedules": {body: schedule.Spec{}, responses: map[int]any{201: schedule.Schedule{}},
		uses: useDB | useTemporal, extra: []int{http.StatusNotFound, http.StatusConflict}},
	"GET /api/v1/schedules/{id}":    {responses: map[int]any{200: schedule.Schedule{}}, uses: useTemporal},
	"DELETE /api/v1/schedules/{id}": {responses: map[int]any{204: nil}, uses: useTemporal},
	"POST /api/v1/schedules/{id}/pause": {body: ScheduleNote{}, responses: map[int]any{200: schedule.Schedule{}},
		uses: useTemporal},
	"POST /api/v1/schedules/{id}/unpause": {body: ScheduleNote{}, responses: map[int]any{200: schedule.Schedule{}},
		uses: useTemporal},
	"POST /api/v1/schedules/{id}/trigger": {body: struct{}{}, responses: map[int]any{202: ScheduleTriggered{}},
		uses: useTemporal},
}

// wantStatuses is every error status an operation must document:
//   - 400 and 413 everywhere: checkQuery refuses a query that is not UTF-8
//     or holds NUL, and limitBody a body over 1 MiB, on every route before
//     the handler runs (the handlers add their own 400s and 413s);
//   - 401 on every operation but the open routes (authenticate), and 403 on
//     every change, which the read token may not make;
//   - 404 where the path has an id;
//   - per service the handler reaches (uses): 500 and 503 for PostgreSQL,
//     502 and 503 for Temporal and the object store, 500 for purge;
//   - the operation's extra statuses, and its documented non-JSON-error
//     bodies (the health check's 503).
//
// Not documented: 405 (a method the path does not have, so no operation
// answers it), 499 (a client that went away reads no answer), and the 500
// recoverPanics makes of a panic, which is a bug rather than an answer.
func wantStatuses(method, path string, op specOp) []int {
	set := map[int]bool{http.StatusBadRequest: true, http.StatusRequestEntityTooLarge: true}
	if !openRoutes[echoPath(path)] {
		set[http.StatusUnauthorized] = true
		if !isRead(method) {
			set[http.StatusForbidden] = true
		}
	}
	if strings.Contains(path, "{") {
		set[http.StatusNotFound] = true
	}
	if op.uses&useDB != 0 {
		set[http.StatusInternalServerError], set[http.StatusServiceUnavailable] = true, true
	}
	if op.uses&(useTemporal|useStore) != 0 {
		set[http.StatusBadGateway], set[http.StatusServiceUnavailable] = true, true
	}
	if op.uses&usePurge != 0 {
		set[http.StatusInternalServerError], set[http.StatusServiceUnavailable] = true, true
	}
	for _, s := range op.extra {
		set[s] = true
	}
	for s := range op.responses {
		if s >= 300 {
			set[s] = true
		}
	}
	var out []int
	for s := range set {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// loadSpec parses and validates openapi.yaml once, and builds a router on it
// that matches paths whatever the host.
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		// Frames are JPEGs; read them as opaque strings.
		openapi3filter.RegisterBodyDecoder("image/jpeg", openapi3filter.FileBodyDecoder)
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(OpenAPI)
		if err != nil {
			specErr = fmt.Errorf("parse openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
			return
		}
		// The router matches on the servers' hosts; the tests' requests go
		// to the handler directly.
		doc.Servers = nil
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			specErr = fmt.Errorf("router for openapi.yaml: %w", err)
			return
		}
		specDoc, specRouter = doc, r
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specDoc, specRouter
}

// specOperationsOf lists the document's operations by "METHOD /path".
func specOperationsOf(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op
		}
	}
	return ops
}

var (
	echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	specParam = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)
)

// echoPath writes a spec path as echo routes it: /assets/{file} is /assets/:file.
func echoPath(path string) string { return specParam.ReplaceAllString(path, ":$1") }

// TestOpenAPISpecRoutes: the spec, the routes echo registers and specOps
// name the same operations.
func TestOpenAPISpecRoutes(t *testing.T) {
	t.Parallel()
	doc, _ := loadSpec(t)
	spec := specOperationsOf(doc)
	s := New(Deps{Log: testLogger(t)})
	routes := map[string]bool{}
	for _, r := range s.echo.Routes() {
		op := r.Method + " " + echoParam.ReplaceAllString(r.Path, "{$1}")
		routes[op] = true
		if spec[op] == nil {
			t.Errorf("route %s is not in openapi.yaml", op)
		}
		if _, ok := specOps[op]; !ok {
			t.Errorf("route %s has no entry in specOps", op)
		}
	}
	for op := range spec {
		if !routes[op] {
			t.Errorf("openapi.yaml documents %s, which is not a route", op)
		}
	}
	for op := range specOps {
		if !routes[op] {
			t.Errorf("specOps lists %s, which is not a route", op)
		}
	}
}

// TestOpenAPISpecStatuses: every operation documents exactly the statuses
// its handler can answer (see wantStatuses), its security matches
// authenticate, and its request body is documented when the handler reads
// one.
func TestOpenAPISpecStatuses(t *testing.T) {
	t.Parallel()
	doc, _ := loadSpec(t)
	for key, op := range specOperationsOf(doc) {
		want, ok := specOps[key]
		if !ok {
			continue // TestOpenAPISpecRoutes reports it
		}
		method, path, _ := strings.Cut(key, " ")
		var documented, success []int
		for code := range op.Responses.Map() {
			n, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("%s: response %q is not a status code", key, code)
				continue
			}
			if n < 300 {
				success = append(success, n)
			} else {
				documented = append(documented, n)
			}
		}
		sort.Ints(documented)
		sort.Ints(success)
		if w := wantStatuses(method, path, want); !slices.Equal(documented, w) {
			t.Errorf("%s documents error statuses %v, want %v (missing %v, not answered %v)",
				key, documented, w, specMinus(w, documented), specMinus(documented, w))
		}
		var wantSuccess []int
		for code := range want.responses {
			if code < 300 {
				wantSuccess = append(wantSuccess, code)
			}
		}
		sort.Ints(wantSuccess)
		if !slices.Equal(success, wantSuccess) {
			t.Errorf("%s documents success statuses %v, the handler answers %v", key, success, wantSuccess)
		}

		// Security: the document's global bearer scheme, or none.
		open := op.Security != nil && len(*op.Security) == 0
		if open != openRoutes[echoPath(path)] {
			t.Errorf("%s: open in the spec is %v, in authenticate %v", key, open, openRoutes[echoPath(path)])
		}

		// A request body exactly where the handler decodes one.
		switch {
		case want.body == nil && op.RequestBody != nil:
			t.Errorf("%s documents a request body, but the handler reads none", key)
		case want.body != nil && op.RequestBody == nil:
			t.Errorf("%s: the handler decodes a %T body, which the spec does not document", key, want.body)
		case op.RequestBody != nil && op.RequestBody.Value.Content.Get("application/json") == nil:
			t.Errorf("%s: the request body is not application/json", key)
		}
	}
}

func specMinus(a, b []int) []int {
	var out []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestOpenAPISpecSchemas: each request and response body schema has the
// properties of the Go type the handler decodes or encodes, recursively,
// with matching JSON types; request objects forbid unknown fields as the
// decoder does; response objects require exactly the fields always sent.
func TestOpenAPISpecSchemas(t *testing.T) {
	t.Parallel()
	doc, _ := loadSpec(t)
	ops := specOperationsOf(doc)

	c := &specSchemaCheck{t: t, requestTypes: map[reflect.Type]bool{}, seen: map[specVisit]bool{}}
	for _, op := range specOps {
		if op.body != nil {
			specCollectTypes(reflect.TypeOf(op.body), c.requestTypes)
		}
	}
	keys := make([]string, 0, len(specOps))
	for k := range specOps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		want, op := specOps[key], ops[key]
		if op == nil {
			continue // TestOpenAPISpecRoutes reports it
		}
		if want.body != nil && op.RequestBody != nil {
			if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
				c.walk(key+" request", reflect.TypeOf(want.body), mt.Schema, true)
			}
		}
		for code, ref := range op.Responses.Map() {
			n, _ := strconv.Atoi(code)
			where := key + " " + code
			goValue, listed := want.responses[n]
			if !listed {
				goValue = errorBody{}
			}
			mt := ref.Value.Content.Get("application/json")
			switch {
			case goValue == nil && mt != nil:
				t.Errorf("%s: documented as JSON, but the handler sends no JSON body", where)
			case goValue != nil && mt == nil:
				t.Errorf("%s: the handler sends a JSON %T, the spec documents no JSON body", where, goValue)
			case goValue != nil:
				c.walk(where, reflect.TypeOf(goValue), mt.Schema, false)
			}
		}
	}
}

// specVisit is one Go type checked against one schema.
type specVisit struct {
	typ     reflect.Type
	schema  *openapi3.Schema
	request bool
}

type specSchemaCheck struct {
	t *testing.T
	// requestTypes are the struct types reachable from a request body: the
	// spec shares their schemas with responses, so which fields they require
	// is the handlers' business, not the Go type's.
	requestTypes map[reflect.Type]bool
	seen         map[specVisit]bool
}

var (
	specTimeType      = reflect.TypeOf(time.Time{})
	specRawType       = reflect.TypeOf(json.RawMessage{})
	specPointType     = reflect.TypeOf(counting.Point{}) // [x, y]
	specMarshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
)

// specCollectTypes adds the struct types reachable from t to set.
func specCollectTypes(t reflect.Type, set map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || set[t] || t == specTimeType {
		return
	}
	set[t] = true
	for _, f := range specJSONFields(t) {
		specCollectTypes(f.typ, set)
	}
}

// specJSONField is a field as encoding/json writes it.
type specJSONField struct {
	name      string
	typ       reflect.Type
	omitempty bool
	depth     int
}

// specJSONFields lists a struct's JSON fields: exported fields by their tag
// name, skipping "-", with embedded structs without a name flattened (the
// shallower field wins, as in encoding/json).
func specJSONFields(t reflect.Type) map[string]specJSONField {
	out := map[string]specJSONField{}
	var add func(t reflect.Type, depth int)
	add = func(t reflect.Type, depth int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					add(ft, depth+1)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if old, ok := out[name]; ok && old.depth <= depth {
				continue
			}
			out[name] = specJSONField{name: name, typ: f.Type, depth: depth,
				omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")}
		}
	}
	add(t, 0)
	return out
}

func specSchemaName(ref *openapi3.SchemaRef) string {
	if ref.Ref != "" {
		return strings.TrimPrefix(ref.Ref, "#/components/schemas/")
	}
	return "inline schema"
}

// walk checks schema ref against Go type t at where.
func (c *specSchemaCheck) walk(where string, t reflect.Type, ref *openapi3.SchemaRef, request bool) {
	c.t.Helper()
	if ref == nil || ref.Value == nil {
		c.t.Errorf("%s: no schema for Go type %s", where, t)
		return
	}
	s := ref.Value
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	v := specVisit{t, s, request}
	if c.seen[v] {
		return
	}
	c.seen[v] = true
	name := specSchemaName(ref)
	is := func(typ string) bool { return s.Type != nil && s.Type.Is(typ) }
	wrongType := func(want string) {
		c.t.Errorf("%s: %s has type %v, Go type %s is JSON %s", where, name, s.Type, t, want)
	}

	switch {
	case t == specTimeType:
		if !is("string") || s.Format != "date-time" {
			c.t.Errorf("%s: %s must be a date-time string for Go time.Time, got type %v format %q", where, name, s.Type, s.Format)
		}
		return
	case t == specRawType:
		return // any JSON the handler chose; described by hand
	case t == specPointType:
		if !is("array") || s.MinItems != 2 || s.MaxItems == nil || *s.MaxItems != 2 {
			c.t.Errorf("%s: %s must be an array of two numbers for Go counting.Point", where, name)
		}
		return
	case t.Implements(specMarshalerType) || reflect.PointerTo(t).Implements(specMarshalerType):
		c.t.Errorf("%s: Go type %s has its own JSON encoding; teach the spec test about it", where, t)
		return
	}

	switch t.Kind() {
	case reflect.Struct:
		if !is("object") {
			wrongType("object")
			return
		}
		c.walkStruct(where, t, ref, request)
	case reflect.Slice, reflect.Array:
		if !is("array") {
			wrongType("array")
			return
		}
		c.walk(where+"[]", t.Elem(), s.Items, request)
	case reflect.Map:
		if !is("object") {
			wrongType("object")
			return
		}
		if len(s.Properties) > 0 {
			c.t.Errorf("%s: %s lists properties, but Go type %s is a map", where, name, t)
		}
		if s.AdditionalProperties.Schema == nil {
			c.t.Errorf("%s: %s must give additionalProperties a schema for the values of Go map %s", where, name, t)
			return
		}
		c.walk(where+"{}", t.Elem(), s.AdditionalProperties.Schema, request)
	case reflect.String:
		if !is("string") {
			wrongType("string")
		}
	case reflect.Bool:
		if !is("boolean") {
			wrongType("boolean")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !is("integer") {
			wrongType("integer")
		}
	case reflect.Float32, reflect.Float64:
		if !is("number") {
			wrongType("number")
		}
	case reflect.Interface:
	default:
		c.t.Errorf("%s: Go type %s has no JSON counterpart the spec test knows", where, t)
	}
}

func (c *specSchemaCheck) walkStruct(where string, t reflect.Type, ref *openapi3.SchemaRef, request bool) {
	c.t.Helper()
	s, name := ref.Value, specSchemaName(ref)
	fields := specJSONFields(t)
	for _, p := range specSortedKeys(s.Properties) {
		if _, ok := fields[p]; !ok {
			c.t.Errorf("%s: property %q is in the spec (%s) but not in Go type %s", where, p, name, t)
		}
	}
	var names []string
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := fields[n]
		prop, ok := s.Properties[n]
		if !ok {
			c.t.Errorf("%s: field %q of Go type %s is not in the spec (%s)", where, n, t, name)
			continue
		}
		// A pointer always sent can be null.
		if !f.omitempty && f.typ.Kind() == reflect.Pointer && !prop.Value.Nullable {
			c.t.Errorf("%s: %s.%s must be nullable: Go field %s is a pointer sent as null", where, name, n, f.typ)
		}
		c.walk(where+"."+n, f.typ, prop, request)
	}
	if request {
		// decodeJSON disallows unknown fields at every depth.
		if has := s.AdditionalProperties.Has; has == nil || *has {
			c.t.Errorf("%s: %s is a request object: it must say additionalProperties: false, as the decoder rejects unknown fields", where, name)
		}
	}
	for _, r := range s.Required {
		if _, ok := fields[r]; !ok {
			c.t.Errorf("%s: %s requires %q, which Go type %s lacks", where, name, r, t)
		}
	}
	if request || c.requestTypes[t] {
		return
	}
	// Responses: required is exactly the fields always sent.
	for _, n := range names {
		f := fields[n]
		required := slices.Contains(s.Required, n)
		switch {
		case !f.omitempty && !required:
			c.t.Errorf("%s: %s must require %q: Go type %s always sends it", where, name, n, t)
		case f.omitempty && required:
			c.t.Errorf("%s: %s requires %q, which Go type %s leaves out when empty", where, name, n, t)
		}
	}
}

func specSortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// liveSpec sends requests to a handler and validates each answer against
// the spec: its status must be documented for the operation, and its
// headers and body must match.
type liveSpec struct {
	t      *testing.T
	router routers.Router
}

func newLiveSpec(t *testing.T) *liveSpec {
	_, r := loadSpec(t)
	return &liveSpec{t: t, router: r}
}

// route finds the spec's operation for req.
func (l *liveSpec) route(req *http.Request) (*routers.Route, map[string]string) {
	l.t.Helper()
	route, params, err := l.router.FindRoute(req)
	if err != nil {
		l.t.Fatalf("%s %s: no operation in openapi.yaml: %v", req.Method, req.URL, err)
	}
	return route, params
}

// send serves the request on h, checks the status is want (any when 0)
// and validates the response against the spec. It returns the body.
func (l *liveSpec) send(h http.Handler, method, path, body, token string, want int) []byte {
	l.t.Helper()
	req := newRequest(method, path, body, token)
	route, params := l.route(req)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newRequest(method, path, body, token))
	if want != 0 && rec.Code != want {
		l.t.Errorf("%s %s: status %d, want %d; body %.300s", method, path, rec.Code, want, rec.Body.Bytes())
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		l.t.Errorf("%s %s: status %d does not match openapi.yaml: %v\nbody: %.500s", method, path, rec.Code, err, rec.Body.Bytes())
	}
	return rec.Body.Bytes()
}

// specAccepts reports whether the spec accepts the request (its
// parameters and body); nil means it does.
func (l *liveSpec) specAccepts(method, path, body string) error {
	l.t.Helper()
	req := newRequest(method, path, body, "")
	route, params := l.route(req)
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
}

// sendValid is send for a request the spec must accept.
func (l *liveSpec) sendValid(h http.Handler, method, path, body string, want int) []byte {
	l.t.Helper()
	if err := l.specAccepts(method, path, body); err != nil {
		l.t.Errorf("%s %s %s: openapi.yaml rejects the request: %v", method, path, body, err)
	}
	return l.send(h, method, path, body, "", want)
}

// TestOpenAPILive sends real requests, successful and failing, through the
// handler on the test services and validates every answer against the spec.
func TestOpenAPILive(t *testing.T) {
	t.Parallel()
	l := newLiveSpec(t)
	pool, _ := testenv.DB(t)
	tc := testenv.Temporal(t)
	q := testenv.Name("q")
	s := New(Deps{DB: pool, Temporal: tc, TaskQueue: q, DetectTaskQueue: q + "-detect", SourcePolicy: source.Unrestricted,
		Store: testenv.Store(t), Retention: contract.Retention{ChunksDays: 7, RowsDays: 30}, Log: testLogger(t)})
	s.probeTimeout = 500 * time.Millisecond
	e := &env{t: t, s: s, db: pool, temporal: tc, taskQueue: q}
	h := s.Handler()
	ctx := context.Background()

	l.send(h, "GET", "/healthz", "", "", http.StatusOK)
	l.send(h, "GET", "/healthz?x=%00", "", "", http.StatusBadRequest)
	l.send(h, "GET", "/api/v1/openapi.yaml", "", "", http.StatusOK)

	// Streams. Schedules live in Temporal, shared by every test: the stream
	// id is unique.
	stream := testenv.Name("spec")
	streamPath := "/api/v1/streams/" + stream
	reg := `{"id":"` + stream + `","name":"Lobby","source":"/videos/lobby.avi","metadata":{"floor":1},` +
		`"detect":{"filter":{"classes":["person","car"],"min_score":0.5,"class_min_score":{"person":0.4}}},` +
		`"retention":{"chunks_days":1,"rows_days":null}}`
	l.sendValid(h, "POST", "/api/v1/streams", reg, http.StatusCreated)
	l.sendValid(h, "POST", "/api/v1/streams", reg, http.StatusOK)
	l.send(h, "POST", "/api/v1/streams", `{"id":`, "", http.StatusBadRequest)
	l.send(h, "POST", "/api/v1/streams", `{"id":"x","source":"/v.avi","colour":"red"}`, "", http.StatusBadRequest)
	l.send(h, "POST", "/api/v1/streams", `{"id":"`+strings.Repeat("x", maxBodyBytes)+`"}`, "", http.StatusRequestEntityTooLarge)
	l.send(h, "GET", "/api/v1/streams?limit=%ff", "", "", http.StatusBadRequest)
	l.send(h, "GET", "/api/v1/streams/nope", "", "", http.StatusNotFound)

	// A capture the workflow would have recorded, finished.
	old := "capture-" + stream + "-20240501T120000Z-0001"
	e.addCapture(old, stream, "completed", time.Now().Add(-time.Hour))
	e.exec(`UPDATE captures SET finished_at = now(), error = NULL WHERE id = $1`, old)
	l.send(h, "GET", "/api/v1/streams", "", "", http.StatusOK)
	l.send(h, "GET", streamPath, "", "", http.StatusOK)
	l.send(h, "GET", streamPath+"/captures?limit=10", "", "", http.StatusOK)
	l.send(h, "GET", streamPath+"/captures?limit=0", "", "", http.StatusBadRequest)
	l.send(h, "GET", streamPath+"/objects", "", "", http.StatusOK)
	l.send(h, "GET", streamPath+"/counts?object=person&from=2024-05-01T00:00:00Z&to=2024-05-02T00:00:00Z", "", "", http.StatusOK)
	l.send(h, "GET", streamPath+"/counts?from=yesterday", "", "", http.StatusBadRequest)
	l.send(h, "GET", streamPath+"/series", "", "", http.StatusOK)
	l.send(h, "GET", "/api/v1/rankings/streams?object=person", "", "", http.StatusOK)
	l.send(h, "GET", "/api/v1/rankings/streams", "", "", http.StatusBadRequest)
	l.send(h, "GET", "/api/v1/rankings/streams/overall", "", "", http.StatusOK)
	l.send(h, "GET", "/api/v1/rankings/objects?limit=5", "", "", http.StatusOK)

	// Captures: started on a task queue no worker polls, so they stay running.
	settings := `{"every_ms":200,"chunk_frames":10,"max_frames":5,"duration_seconds":1.5,"detect_concurrency":2,` +
		`"skip_rollup":true,"gpu":false,"detect":{"filter":{"classes":["person"],"min_score":0.25}}}`
	var started CaptureStarted
	specDecode(t, l.sendValid(h, "POST", streamPath+"/captures", settings, http.StatusAccepted), &started)
	var closed CaptureStarted
	specDecode(t, l.sendValid(h, "POST", streamPath+"/captures", "", http.StatusAccepted), &closed)
	t.Cleanup(func() {
		for _, id := range []string{started.CaptureID, closed.CaptureID} {
			_ = tc.TerminateWorkflow(context.Background(), id, "", "api test finished")
		}
	})
	l.send(h, "POST", streamPath+"/captures", `{"every_ms":-1}`, "", http.StatusBadRequest)
	l.send(h, "POST", "/api/v1/streams/nope/captures", "", "", http.StatusNotFound)
	l.send(h, "GET", "/api/v1/captures/"+started.CaptureID, "", "", http.StatusOK)
	l.send(h, "GET", "/api/v1/captures/"+old, "", "", http.StatusOK)
	l.send(h, "GET", "/api/v1/captures/capture-nope-20240501T120000Z-0000", "", "", http.StatusNotFound)
	l.send(h, "GET", "/api/v1/captures/bad%20id", "", "", http.StatusNotFound)

	// Cancel: a running workflow, a closed one, an unknown one.
	l.sendValid(h, "POST", "/api/v1/captures/"+started.CaptureID+"/cancel", "", http.StatusAccepted)
	if err := tc.TerminateWorkflow(ctx, closed.CaptureID, "", "closed for the spec test"); err != nil {
		t.Fatal(err)
	}
	l.send(h, "POST", "/api/v1/captures/"+closed.CaptureID+"/cancel", "", "", http.StatusConflict)
	l.send(h, "POST", "/api/v1/captures/capture-nope-20240501T120000Z-0000/cancel", "", "", http.StatusNotFound)

	// Workflows the API starts on its own (rollups, retention) stay open
	// on the test's task queue, which no worker polls.
	var workflows []string
	t.Cleanup(func() {
		for _, id := range workflows {
			_ = tc.TerminateWorkflow(context.Background(), id, "", "api test finished")
		}
	})

	// Delete: a running capture, a finished one, a gone one. A stream with
	// a running capture cannot go (before it has schedules, which that
	// refusal would delete).
	running := "capture-" + stream + "-20240501T130000Z-0002"
	e.addCapture(running, stream, "running", time.Now())
	l.send(h, "DELETE", "/api/v1/captures/"+running, "", "", http.StatusConflict)
	l.send(h, "DELETE", streamPath, "", "", http.StatusConflict)
	var del Deleted
	specDecode(t, l.sendValid(h, "DELETE", "/api/v1/captures/"+old, "", http.StatusOK), &del)
	workflows = append(workflows, del.RollupWorkflowID)
	l.send(h, "DELETE", "/api/v1/captures/"+old, "", "", http.StatusNotFound)

	// Schedules.
	schedID := "capture-" + stream
	e.cleanupSchedule(schedID)
	spec := `{"stream_id":"` + stream + `","every":"1h","offset":"15m","note":"hourly",` +
		`"capture":{"every_ms":1000,"duration_seconds":60,"detect":{"model":"","filter":{"classes":["person"]}}}}`
	l.sendValid(h, "POST", "/api/v1/schedules", spec, http.StatusCreated)
	l.send(h, "POST", "/api/v1/schedules", spec, "", http.StatusConflict)
	l.send(h, "POST", "/api/v1/schedules", `{"stream_id":"nope","every":"1h"}`, "", http.StatusNotFound)
	l.send(h, "POST", "/api/v1/schedules", `{"stream_id":"`+stream+`","every":"1s"}`, "", http.StatusBadRequest)
	l.send(h, "GET", "/api/v1/schedules/"+schedID, "", "", http.StatusOK)
	l.send(h, "GET", "/api/v1/schedules/nope-"+stream, "", "", http.StatusNotFound)
	l.sendValid(h, "POST", "/api/v1/schedules/"+schedID+"/pause", `{"note":"spec test"}`, http.StatusOK)
	l.sendValid(h, "POST", "/api/v1/schedules/"+schedID+"/unpause", "", http.StatusOK)
	l.sendValid(h, "POST", "/api/v1/schedules/"+schedID+"/trigger", "{}", http.StatusAccepted)
	l.send(h, "POST", "/api/v1/schedules/"+schedID+"/trigger", `{"now":true}`, "", http.StatusBadRequest)
	// The capture it started shows in recent_actions, and the schedule in
	// the list, eventually; the stream's delete below lists the schedules.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		var sc schedule.Schedule
		specDecode(t, l.send(h, "GET", "/api/v1/schedules/"+schedID, "", "", http.StatusOK), &sc)
		var list []schedule.Summary
		specDecode(t, l.send(h, "GET", "/api/v1/schedules", "", "", http.StatusOK), &list)
		listed := slices.ContainsFunc(list, func(s schedule.Summary) bool { return s.ID == schedID })
		if len(sc.RecentActions) > 0 && listed {
			workflows = append(workflows, sc.RecentActions[0].WorkflowID)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s: listed %v, recent actions %v", schedID, listed, sc.RecentActions)
		}
	}

	// The stream's delete, now that no capture runs.
	e.exec(`UPDATE captures SET status = 'failed', finished_at = now(), error = 'stopped' WHERE id = $1`, running)
	del = Deleted{}
	specDecode(t, l.sendValid(h, "DELETE", streamPath, "", http.StatusOK), &del)
	workflows = append(workflows, del.RollupWorkflowID)
	if !slices.Contains(del.Schedules, schedID) || del.Removed.Captures != 1 {
		t.Errorf("DELETE %s = %+v, want schedule %s and 1 capture removed", streamPath, del, schedID)
	}
	l.send(h, "DELETE", streamPath, "", "", http.StatusNotFound)
	l.send(h, "DELETE", "/api/v1/schedules/"+schedID, "", "", http.StatusNotFound)

	// Retention.
	for _, body := range []string{"", "{}"} {
		var rs RetentionStarted
		specDecode(t, l.sendValid(h, "POST", "/api/v1/retention/run", body, http.StatusAccepted), &rs)
		workflows = append(workflows, rs.WorkflowID)
	}
	l.send(h, "POST", "/api/v1/retention/run", `{"rows_days":1}`, "", http.StatusBadRequest)
}

func specDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %.300s: %v", b, err)
	}
}

// TestOpenAPILiveFrames validates the frame route's answers: JPEGs, a frame
// not stored, an expired one and no object store.
func TestOpenAPILiveFrames(t *testing.T) {
	t.Parallel()
	l := newLiveSpec(t)
	e := newFrameEnv(t)
	h := e.s.Handler()
	base := "/api/v1/captures/" + frameCapture + "/frames/"
	l.send(h, "GET", base+"2", "", "", http.StatusOK)
	l.send(h, "GET", base+"2?annotated=true&min_score=0.5&classes=person,car", "", "", http.StatusOK)
	l.send(h, "GET", base+"3", "", "", http.StatusNotFound)
	l.send(h, "GET", base+"-1", "", "", http.StatusBadRequest)
	l.send(h, "GET", base+"2?min_score=2", "", "", http.StatusBadRequest)
	l.send(h, "GET", "/api/v1/captures/capture-nope-1/frames/0", "", "", http.StatusNotFound)
	e.exec(`UPDATE chunks SET expired_at = now() WHERE capture_id = $1 AND seq = 1`, frameCapture)
	l.send(h, "GET", base+"6", "", "", http.StatusGone)

	noStore := New(Deps{DB: e.db, Log: testLogger(t)})
	l.send(noStore.Handler(), "GET", base+"2", "", "", http.StatusServiceUnavailable)
}

// TestOpenAPILiveAuthAndOutages validates the answers of authentication
// and of services that cannot be reached.
func TestOpenAPILiveAuthAndOutages(t *testing.T) {
	t.Parallel()
	l := newLiveSpec(t)
	pool, tc := unreachable(t)

	auth := New(Deps{Token: "write", ReadToken: "read", Log: testLogger(t)}).Handler()
	l.send(auth, "GET", "/api/v1/streams", "", "", http.StatusUnauthorized)
	l.send(auth, "GET", "/api/v1/streams", "", "wrong", http.StatusUnauthorized)
	l.send(auth, "POST", "/api/v1/streams", `{"id":"x","source":"/v.avi"}`, "", http.StatusUnauthorized)
	l.send(auth, "POST", "/api/v1/streams", `{"id":"x","source":"/v.avi"}`, "read", http.StatusForbidden)
	l.send(auth, "DELETE", "/api/v1/captures/capture-x-1", "", "read", http.StatusForbidden)
	l.send(auth, "POST", "/api/v1/retention/run", "", "", http.StatusUnauthorized)
	l.send(auth, "GET", "/api/v1/openapi.yaml", "", "", http.StatusOK)
	// No services configured: the health check says so.
	l.send(auth, "GET", "/healthz", "", "", http.StatusServiceUnavailable)

	// The source policy refuses a file source.
	strict := New(Deps{Log: testLogger(t)}).Handler()
	l.send(strict, "POST", "/api/v1/streams", `{"id":"x","source":"/videos/lobby.avi"}`, "", http.StatusForbidden)

	down := New(Deps{DB: pool, Temporal: tc, Log: testLogger(t)})
	down.rpcTimeout, down.probeTimeout = time.Second, time.Second
	dh := down.Handler()
	l.send(dh, "GET", "/api/v1/streams", "", "", http.StatusServiceUnavailable)
	l.send(dh, "GET", "/api/v1/streams/lobby/captures", "", "", http.StatusServiceUnavailable)
	l.send(dh, "GET", "/api/v1/schedules", "", "", http.StatusServiceUnavailable)
	l.send(dh, "POST", "/api/v1/retention/run", "", "", http.StatusServiceUnavailable)
	l.send(dh, "POST", "/api/v1/captures/capture-x-1/cancel", "", "", http.StatusServiceUnavailable)
	l.send(dh, "DELETE", "/api/v1/captures/capture-x-1", "", "", http.StatusServiceUnavailable) // no object store
	l.send(dh, "GET", "/healthz", "", "", http.StatusServiceUnavailable)
}

// TestOpenAPIBounds probes request bodies at the edges of what the
// handlers accept: the spec must accept exactly what the handler accepts.
// Temporal is unreachable, so an accepted capture or schedule is a 503,
// never a workflow; a refused one is a 400.
func TestOpenAPIBounds(t *testing.T) {
	t.Parallel()
	l := newLiveSpec(t)
	pool, _ := testenv.DB(t)
	_, tc := unreachable(t)
	s := New(Deps{DB: pool, Temporal: tc, SourcePolicy: source.Unrestricted, Log: testLogger(t)})
	s.rpcTimeout = 100 * time.Millisecond
	h := s.Handler()
	l.send(h, "POST", "/api/v1/streams", `{"id":"bounds","source":"/videos/lobby.avi"}`, "", http.StatusCreated)

	probe := func(method, path, body string) {
		t.Helper()
		specErr := l.specAccepts(method, path, body)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newRequest(method, path, body, ""))
		handlerOK := rec.Code != http.StatusBadRequest
		switch {
		case specErr == nil && !handlerOK:
			t.Errorf("%s %s %s: openapi.yaml accepts it, the handler answers %d %s", method, path, body, rec.Code, rec.Body.Bytes())
		case specErr != nil && handlerOK:
			t.Errorf("%s %s %s: the handler answers %d, openapi.yaml rejects it: %v", method, path, body, rec.Code, specErr)
		}
	}

	settings := []string{
		`{}`,
		`{"every_ms":0}`, `{"every_ms":86400000}`, `{"every_ms":86400001}`, `{"every_ms":-1}`,
		`{"chunk_frames":1000}`, `{"chunk_frames":1001}`, `{"chunk_frames":-1}`,
		`{"max_frames":5}`, `{"max_frames":-1}`,
		`{"duration_seconds":1.5}`, `{"duration_seconds":-0.5}`,
		`{"detect_concurrency":256}`, `{"detect_concurrency":257}`, `{"detect_concurrency":-1}`,
		`{"detect_task_queue":"` + strings.Repeat("q", 200) + `"}`, `{"detect_task_queue":"` + strings.Repeat("q", 201) + `"}`,
		`{"gpu":true,"skip_rollup":true}`,
		`{"every_ms":"1"}`, `{"every_ms":1.5}`, `{"unknown":1}`,
		`{"detect":{"filter":{"min_score":0}}}`, `{"detect":{"filter":{"min_score":0.99}}}`,
		`{"detect":{"filter":{"min_score":1}}}`, `{"detect":{"filter":{"min_score":-0.1}}}`,
		`{"detect":{"filter":{"class_min_score":{"person":0.5}}}}`, `{"detect":{"filter":{"class_min_score":{"person":0}}}}`,
		`{"detect":{"filter":{"class_min_score":{"person":1}}}}`, `{"detect":{"filter":{"class_min_score":{"person":-1}}}}`,
		`{"detect":{"filter":{"classes":["person"]}}}`, `{"detect":{"filter":{"classes":[""]}}}`,
		`{"detect":{"filter":{"threshold":1}}}`, `{"detect":{"name":"x"}}`,
	}
	for _, body := range settings {
		probe("POST", "/api/v1/streams/bounds/captures", body)
		probe("POST", "/api/v1/schedules", `{"stream_id":"bounds","every":"1h","capture":`+body+`}`)
	}
	for _, detect := range []string{
		`{"filter":{"min_score":0.99}}`, `{"filter":{"min_score":1}}`, `{"filter":{"class_min_score":{"car":0}}}`,
		`{"filter":{"class_min_score":{"car":0.01}}}`, `{"filter":{"classes":[""]}}`,
	} {
		probe("POST", "/api/v1/streams", `{"id":"bounds","source":"/videos/lobby.avi","detect":`+detect+`}`)
	}
	for _, body := range []string{
		`{"id":"bounds","source":"/videos/lobby.avi","retention":{"chunks_days":0,"rows_days":30}}`,
		`{"id":"bounds","source":"/videos/lobby.avi","retention":{"chunks_days":null}}`,
		`{"id":"bounds","source":"/videos/lobby.avi","retention":{"chunks_days":-1}}`,
		`{"id":"bounds","source":"/videos/lobby.avi","retention":{"days":1}}`,
		`{"id":"bounds","source":"/videos/lobby.avi","metadata":null}`,
		`{"id":"bounds","source":"/videos/lobby.avi","metadata":[1]}`,
		`{"id":"Bounds","source":"/videos/lobby.avi"}`,
		`{"id":"` + strings.Repeat("b", 63) + `","source":"/videos/lobby.avi"}`,
		`{"id":"` + strings.Repeat("b", 64) + `","source":"/videos/lobby.avi"}`,
		`{"source":"/videos/lobby.avi"}`,
	} {
		probe("POST", "/api/v1/streams", body)
	}
	for _, body := range []string{`{"stream_id":"bounds","every":"1h","id":"a.b_c-1"}`, `{"stream_id":"bounds","every":"1h","id":"a b"}`,
		`{"stream_id":"Bounds","every":"1h"}`, `{"every":"1h"}`, `{"stream_id":"bounds","every":"1h","paused":true,"note":"n"}`} {
		probe("POST", "/api/v1/schedules", body)
	}
	for _, body := range []string{`{"note":"why"}`, `{"note":1}`, `{"reason":"why"}`} {
		probe("POST", "/api/v1/schedules/capture-bounds/pause", body)
	}
}
