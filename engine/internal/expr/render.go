package expr

import (
	"strconv"
	"strings"
)

// Template compiles a whole template string into one Starlark expression.
// A string that is exactly one {{ }} keeps the expression's type; any
// other string becomes a %-format of its pieces, each piece converted
// with str(). A string with no {{ }} becomes a quoted literal.
func Template(s string, sc *Scope, refs func(Kind, string)) (string, error) {
	parts, err := Split(s)
	if err != nil {
		return "", err
	}
	if len(parts) == 1 && parts[0].IsExpr {
		return rewriteAt(parts[0], sc, refs)
	}
	var format strings.Builder
	var args []string
	for _, p := range parts {
		if !p.IsExpr {
			format.WriteString(strings.ReplaceAll(p.Text, "%", "%%"))
			continue
		}
		e, err := rewriteAt(p, sc, refs)
		if err != nil {
			return "", err
		}
		format.WriteString("%s")
		args = append(args, e)
	}
	lit := Quote(format.String())
	switch len(args) {
	case 0:
		return Quote(s), nil
	case 1:
		return lit + " % (" + args[0] + ",)", nil
	default:
		return lit + " % (" + strings.Join(args, ", ") + ")", nil
	}
}

// Condition compiles an edge condition: a bare expression or one {{ }}.
func Condition(s string, sc *Scope, refs func(Kind, string)) (string, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{{") && strings.HasSuffix(t, "}}") && strings.Count(t, "{{") == 1 {
		return Template(t, sc, refs)
	}
	if HasTemplate(t) {
		return "", &Error{Msg: "a condition is one expression: write {{ a and b }}, not text around {{ }}"}
	}
	return Rewrite(s, sc, refs)
}

func rewriteAt(p Part, sc *Scope, refs func(Kind, string)) (string, error) {
	e, err := Rewrite(p.Text, sc, refs)
	if err != nil {
		if te, ok := err.(*Error); ok {
			return "", &Error{Off: p.Off + te.Off, Msg: te.Msg}
		}
		return "", err
	}
	return e, nil
}

// Quote returns s as a Starlark string literal.
func Quote(s string) string {
	// Go's quoting is valid Starlark for every string: Starlark accepts the
	// same escapes, including \u and \U.
	return strconv.Quote(s)
}
