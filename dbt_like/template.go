package dbtlike

import (
	"fmt"
	"regexp"
	"strings"
)

// segKind is what one piece of a parsed model template stands for.
type segKind int

const (
	segText      segKind = iota // literal SQL
	segRef                      // {{ ref('model') }}
	segSource                   // {{ source('sightline','table') }}
	segThis                     // {{ this }}
	segVar                      // {{ var('name', default) }}
	segConfig                   // {{ config(...) }}: renders to nothing
	segIncr                     // {{ is_incremental() }}: true or false
	segWatermark                // {{ watermark() }}: a timestamptz literal
	segTest                     // {{ test('kind', ...) }}: renders to nothing
	segChanged                  // {{ changed('model') }} (tests): the partitions the model's last build rebuilt
)

// segment is one piece of a template; templates are parsed once at load so
// that refs, sources and config are known before anything runs.
type segment struct {
	kind   segKind
	text   string // text: the SQL; ref: model; source: table; var: name
	def    string // var: the default, literal SQL
	hasDef bool
	test   testDecl // test: the declaration
}

var exprRE = regexp.MustCompile(`(?s)\{\{(.*?)\}\}`)

// parseTemplate splits src into literal text and {{ ... }} expressions.
func parseTemplate(src string) ([]segment, map[string]string, error) {
	var segs []segment
	var cfg map[string]string
	last := 0
	addText := func(start, end int) error {
		s := src[start:end]
		if i := strings.Index(s, "{{"); i >= 0 {
			return fmt.Errorf("line %d: unclosed {{", lineOf(src, start+i))
		}
		if i := strings.Index(s, "}}"); i >= 0 {
			return fmt.Errorf("line %d: }} without {{", lineOf(src, start+i))
		}
		if s != "" {
			segs = append(segs, segment{kind: segText, text: s})
		}
		return nil
	}
	for _, loc := range exprRE.FindAllStringSubmatchIndex(src, -1) {
		if err := addText(last, loc[0]); err != nil {
			return nil, nil, err
		}
		last = loc[1]
		inner := strings.TrimSpace(src[loc[2]:loc[3]])
		seg, kw, err := parseExpr(inner)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: {{ %s }}: %w", lineOf(src, loc[0]), inner, err)
		}
		if seg.kind == segConfig {
			if cfg != nil {
				return nil, nil, fmt.Errorf("line %d: config() given more than once", lineOf(src, loc[0]))
			}
			cfg = kw
		}
		segs = append(segs, seg)
	}
	if err := addText(last, len(src)); err != nil {
		return nil, nil, err
	}
	return segs, cfg, nil
}

func lineOf(s string, off int) int { return strings.Count(s[:off], "\n") + 1 }

// arg is one argument of a template call: positional when key is empty.
type arg struct {
	key    string
	val    string
	quoted bool
}

// parseExpr parses the inside of {{ }}: `this` or name(args).
func parseExpr(s string) (segment, map[string]string, error) {
	toks, err := tokenize(s)
	if err != nil {
		return segment{}, nil, err
	}
	if len(toks) == 1 && toks[0].kind == tokIdent && toks[0].val == "this" {
		return segment{kind: segThis}, nil, nil
	}
	if len(toks) == 3 && toks[0].kind == tokIdent && toks[1].kind == '(' && toks[2].kind == ')' {
		switch toks[0].val {
		case "is_incremental":
			return segment{kind: segIncr}, nil, nil
		case "watermark":
			return segment{kind: segWatermark}, nil, nil
		}
	}
	if len(toks) < 3 || toks[0].kind != tokIdent || toks[1].kind != '(' || toks[len(toks)-1].kind != ')' {
		return segment{}, nil, fmt.Errorf("expected this or a call such as ref('model')")
	}
	args, err := parseArgs(toks[2 : len(toks)-1])
	if err != nil {
		return segment{}, nil, err
	}
	fn := toks[0].val
	positional := func(min, max int) error {
		if len(args) < min || len(args) > max {
			return fmt.Errorf("%s() takes %d to %d arguments, got %d", fn, min, max, len(args))
		}
		for i, a := range args {
			if a.key != "" {
				return fmt.Errorf("%s() takes no keyword arguments (%s=)", fn, a.key)
			}
			// The last argument of var() is a default, which may be bare.
			if !a.quoted && !(fn == "var" && i == 1) {
				return fmt.Errorf("%s() argument %d must be a quoted string", fn, i+1)
			}
		}
		return nil
	}
	switch fn {
	case "ref":
		if err := positional(1, 1); err != nil {
			return segment{}, nil, err
		}
		return segment{kind: segRef, text: args[0].val}, nil, nil
	case "source":
		if err := positional(2, 2); err != nil {
			return segment{}, nil, err
		}
		if args[0].val != SourceName {
			return segment{}, nil, fmt.Errorf("unknown source %q (only %q)", args[0].val, SourceName)
		}
		if !sourceTables[args[1].val] {
			return segment{}, nil, fmt.Errorf("unknown source table %s.%s (known: %s)", args[0].val, args[1].val, strings.Join(SourceTables, ", "))
		}
		return segment{kind: segSource, text: args[1].val}, nil, nil
	case "var":
		if err := positional(1, 2); err != nil {
			return segment{}, nil, err
		}
		seg := segment{kind: segVar, text: args[0].val}
		if len(args) == 2 {
			seg.def, seg.hasDef = args[1].val, true
		}
		return seg, nil, nil
	case "changed":
		if err := positional(1, 1); err != nil {
			return segment{}, nil, err
		}
		return segment{kind: segChanged, text: args[0].val}, nil, nil
	case "test":
		d, err := parseTestArgs(args)
		if err != nil {
			return segment{}, nil, err
		}
		return segment{kind: segTest, test: d}, nil, nil
	case "config":
		kw := map[string]string{}
		for _, a := range args {
			if a.key == "" {
				return segment{}, nil, fmt.Errorf("config() takes only key=value arguments")
			}
			if _, dup := kw[a.key]; dup {
				return segment{}, nil, fmt.Errorf("config() sets %s twice", a.key)
			}
			kw[a.key] = a.val
		}
		return segment{kind: segConfig}, kw, nil
	default:
		return segment{}, nil, fmt.Errorf("unknown function %s() (known: ref, source, var, config, test, changed, is_incremental, watermark, this)", fn)
	}
}

func parseArgs(toks []token) ([]arg, error) {
	var args []arg
	for len(toks) > 0 {
		var a arg
		if len(toks) >= 2 && toks[0].kind == tokIdent && toks[1].kind == '=' {
			a.key = toks[0].val
			toks = toks[2:]
		}
		if len(toks) == 0 {
			return nil, fmt.Errorf("missing value after %s=", a.key)
		}
		switch toks[0].kind {
		case tokString:
			a.val, a.quoted = toks[0].val, true
		case tokIdent, tokBare:
			a.val = toks[0].val
		default:
			return nil, fmt.Errorf("unexpected %q in arguments", string(toks[0].kind))
		}
		args = append(args, a)
		toks = toks[1:]
		if len(toks) > 0 {
			if toks[0].kind != ',' {
				return nil, fmt.Errorf("expected , between arguments")
			}
			toks = toks[1:]
		}
	}
	return args, nil
}

const (
	tokIdent  = 'i'
	tokString = 's'
	tokBare   = 'b' // a number or other unquoted literal
)

type token struct {
	kind byte
	val  string
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, token{kind: c})
			i++
		case c == '\'' || c == '"':
			// No escapes: a default such as "'1 minute'" uses the other quote.
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string starting at %q", s[i:])
			}
			toks = append(toks, token{kind: tokString, val: s[i+1 : i+1+j]})
			i += j + 2
		case isIdentByte(c) || c == '-' || c == '+' || c == '.':
			j := i + 1
			for j < len(s) && (isIdentByte(s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '+') {
				j++
			}
			kind := byte(tokBare)
			if !(c >= '0' && c <= '9') && c != '-' && c != '+' && c != '.' {
				kind = tokIdent
			}
			toks = append(toks, token{kind: kind, val: s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
