package expr

import "fmt"

type tokKind int

const (
	tokOther tokKind = iota
	tokIdent
	tokNumber
	tokString
	tokSpace
)

// token is a lexical piece of an expression. Only what the rewrite needs
// is distinguished: identifiers, numbers and strings (so that names
// inside string literals are left alone); everything else is kept
// verbatim, one character at a time.
type token struct {
	kind     tokKind
	text     string
	off      int
	adjacent bool // no white space before this token
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || ('0' <= c && c <= '9') }

func scan(s string) ([]token, error) {
	var toks []token
	adjacent := true
	for i := 0; i < len(s); {
		c := s[i]
		start := i
		var kind tokKind
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
				i++
			}
			toks = append(toks, token{kind: tokSpace, text: s[start:i], off: start})
			adjacent = false
			continue
		case isIdentStart(c):
			for i < len(s) && isIdentChar(s[i]) {
				i++
			}
			kind = tokIdent
		case '0' <= c && c <= '9':
			// A '.' belongs to a number only before a digit: in
			// "expected-404.ok" it starts an attribute.
			for i < len(s) && (isIdentChar(s[i]) || (s[i] == '.' && i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9')) {
				i++
			}
			kind = tokNumber
		case c == '"' || c == '\'':
			end, err := scanString(s, i)
			if err != nil {
				return nil, err
			}
			i = end
			kind = tokString
		default:
			i++
			kind = tokOther
		}
		toks = append(toks, token{kind: kind, text: s[start:i], off: start, adjacent: adjacent})
		adjacent = true
	}
	return toks, nil
}

// scanString returns the offset just past the string literal at s[i].
func scanString(s string, i int) (int, error) {
	q := s[i]
	triple := i+2 < len(s) && s[i+1] == q && s[i+2] == q
	j := i + 1
	if triple {
		j = i + 3
	}
	for j < len(s) {
		switch {
		case s[j] == '\\':
			j += 2
		case triple && j+2 < len(s) && s[j] == q && s[j+1] == q && s[j+2] == q:
			return j + 3, nil
		case !triple && s[j] == q:
			return j + 1, nil
		case !triple && s[j] == '\n':
			return 0, &Error{Off: i, Msg: "unterminated string literal"}
		default:
			j++
		}
	}
	return 0, &Error{Off: i, Msg: fmt.Sprintf("unterminated string literal starting with %c", q)}
}
