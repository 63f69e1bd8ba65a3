package stdlib

import (
	"cmp"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// The JSON of request bodies and response bodies goes straight between
// bytes and Starlark values: through Go's maps and interfaces
// (encoding/json) a two-step flow's login spent more on its JSON than on
// its exchange. Both directions give exactly what encoding/json gives;
// the encoder takes the values bodies are made of and leaves the rest
// (floats, big integers, structs, deep nesting) to it.

// maxFastNesting is the deepest nesting appendJSON encodes itself.
const maxFastNesting = 32

// appendJSON appends the JSON encoding of v to b, byte for byte what
// json.Marshal(toGo(v)) writes, for dicts with string keys, lists,
// tuples, strings, integers of 64 bits, booleans and None. It reports
// false, with b unusable, for any other value: the caller encodes those
// with encoding/json.
func appendJSON(b []byte, v starlark.Value, depth int) ([]byte, bool) {
	switch v := v.(type) {
	case starlark.NoneType:
		return append(b, "null"...), true
	case starlark.Bool:
		if v {
			return append(b, "true"...), true
		}
		return append(b, "false"...), true
	case starlark.Int:
		i, ok := v.Int64()
		if !ok {
			return b, false
		}
		return strconv.AppendInt(b, i, 10), true
	case starlark.String:
		return appendJSONString(b, string(v)), true
	case *starlark.Dict:
		if depth >= maxFastNesting {
			return b, false
		}
		// encoding/json writes a map's keys in sorted order.
		keys := v.Keys()
		for _, k := range keys {
			if _, ok := k.(starlark.String); !ok {
				return b, false
			}
		}
		slices.SortFunc(keys, func(x, y starlark.Value) int {
			return cmp.Compare(x.(starlark.String), y.(starlark.String))
		})
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(k.(starlark.String)))
			b = append(b, ':')
			x, _, _ := v.Get(k)
			var ok bool
			if b, ok = appendJSON(b, x, depth+1); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case *starlark.List, starlark.Tuple:
		if depth >= maxFastNesting {
			return b, false
		}
		l := v.(starlark.Indexable)
		b = append(b, '[')
		for i := 0; i < l.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSON(b, l.Index(i), depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it: HTML's <, > and & too, invalid UTF-8 as U+FFFD, and the
// line and paragraph separators.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// maxJSONDepth is encoding/json's limit on nesting.
const maxJSONDepth = 10000

// parseJSON decodes the first JSON value of b, as a json.Decoder with
// UseNumber decodes it and toStarlark converts it: what follows the
// value is not looked at; objects become dicts with their keys in
// sorted order (the last of a repeated key wins), integers that fit 64
// bits ints and other numbers floats. It reports false when b holds no
// valid value.
func parseJSON(b []byte) (starlark.Value, bool) {
	p := jsonParser{b: b}
	p.space()
	v, ok := p.value(1)
	if !ok {
		return nil, false
	}
	return v, true
}

type jsonParser struct {
	b []byte
	i int
	// members is a stack of the members of the objects being read.
	members []jsonMember
}

type jsonMember struct {
	k string
	v starlark.Value
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value reads a value at nesting depth (1 for the top level, which
// nests nothing yet).
func (p *jsonParser) value(depth int) (starlark.Value, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		if depth > maxJSONDepth {
			return nil, false
		}
		return p.object(depth)
	case c == '[':
		if depth > maxJSONDepth {
			return nil, false
		}
		return p.array(depth)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return starlark.String(s), true
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case c == 't':
		return starlark.True, p.literal("true")
	case c == 'f':
		return starlark.False, p.literal("false")
	case c == 'n':
		return starlark.None, p.literal("null")
	}
	return nil, false
}

func (p *jsonParser) literal(word string) bool {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return false
	}
	p.i += len(word)
	return true
}

func (p *jsonParser) object(depth int) (starlark.Value, bool) {
	p.i++ // {
	base := len(p.members)
	defer func() { clear(p.members[base:]); p.members = p.members[:base] }()
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return starlark.NewDict(0), true
	}
	for {
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.space()
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		p.members = append(p.members, jsonMember{k, v})
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.space()
			continue
		case '}':
			p.i++
		default:
			return nil, false
		}
		break
	}
	members := p.members[base:]
	// Sorted by key, a repeated key's last value after its others.
	slices.SortStableFunc(members, func(x, y jsonMember) int { return cmp.Compare(x.k, y.k) })
	n := 0
	for i := range members {
		if i+1 == len(members) || members[i+1].k != members[i].k {
			n++
		}
	}
	d := starlark.NewDict(n)
	for i, m := range members {
		if i+1 < len(members) && members[i+1].k == m.k {
			continue
		}
		_ = d.SetKey(starlark.String(m.k), m.v)
	}
	return d, true
}

func (p *jsonParser) array(depth int) (starlark.Value, bool) {
	p.i++ // [
	p.space()
	var elems []starlark.Value
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return starlark.NewList([]starlark.Value{}), true
	}
	for {
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		elems = append(elems, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.space()
			continue
		case ']':
			p.i++
			return starlark.NewList(elems), true
		}
		return nil, false
	}
}

// number reads a number as JSON's grammar has it: -?(0|[1-9][0-9]*)
// (.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *jsonParser) number() (starlark.Value, bool) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i >= len(p.b) {
		return nil, false
	}
	if p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, false
	}
	integer := true
	if p.i < len(p.b) && p.b[p.i] == '.' {
		integer = false
		p.i++
		if digits() == 0 {
			return nil, false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		integer = false
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	text := string(p.b[start:p.i])
	if integer {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return starlark.MakeInt64(i), true
		}
	}
	f, _ := strconv.ParseFloat(text, 64)
	return starlark.Float(f), true
}

// str reads a string, unquoted as encoding/json unquotes it: invalid
// UTF-8 and lone surrogates become U+FFFD.
func (p *jsonParser) str() (string, bool) {
	p.i++ // "
	start := p.i
	// The common case: nothing to unquote.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
		p.i++
	}
	out := make([]byte, 0, p.i-start+16)
	out = append(out, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), true
		case c < ' ':
			return "", false
		case c == '\\':
			p.i++
			if p.i >= len(p.b) {
				return "", false
			}
			switch e := p.b[p.i]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(p.b[p.i+1:])
				if !ok {
					return "", false
				}
				p.i += 4
				if utf16.IsSurrogate(r) {
					// A pair only when the next escape completes it; else
					// this one is U+FFFD and the next is read on its own.
					if len(p.b)-p.i > 6 && p.b[p.i+1] == '\\' && p.b[p.i+2] == 'u' {
						if r1, ok := hex4(p.b[p.i+3:]); ok {
							if dec := utf16.DecodeRune(r, r1); dec != unicode.ReplacementChar {
								p.i += 6
								out = utf8.AppendRune(out, dec)
								break
							}
						}
					}
					r = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", false
			}
			p.i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			out = utf8.AppendRune(out, r) // an invalid byte: U+FFFD
			p.i += size
		}
	}
	return "", false
}

// hex4 reads the 4 hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}
