package stdlib

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// Random is one user's stream of random choices, the source of the
// `random` module's answers in that user's thread (spec §4.3). It is
// seeded from the run's seed and the user's id alone, so the same seed
// gives each user the same choices however the users are scheduled. It
// belongs to one thread and is not safe for concurrent use.
type Random struct {
	src rand.PCG
	rnd rand.Rand
}

// randomSalt keeps a user's script stream apart from the other streams
// the runtime derives from the same seed and user id (think times).
const randomSalt = 0x72616e646f6d5f31 // "random_1"

// NewRandom returns the stream of user id (1-based; setup and teardown,
// which run as no user, use 0) in a run seeded with seed.
func NewRandom(seed uint64, user int) *Random {
	r := &Random{}
	r.src.Seed(splitmix(seed^randomSalt), splitmix(uint64(user)))
	r.rnd = *rand.New(&r.src)
	return r
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// randomKey is the thread-local key of the user's *Random.
const randomKey = "ntx.random"

// Attach gives thread the stream its `random` calls draw from.
func (r *Random) Attach(thread *starlark.Thread) { thread.SetLocal(randomKey, r) }

func randomOf(thread *starlark.Thread, fn string) (*rand.Rand, error) {
	r, ok := thread.Local(randomKey).(*Random)
	if !ok || r == nil {
		return nil, fmt.Errorf("%s: only available while a scenario runs (random choices are drawn from each user's own seeded stream)", fn)
	}
	return &r.rnd, nil
}

// randomModule is `random`. Every function draws from the calling
// user's stream.
func randomModule() starlark.Value {
	return &randomValue{members: starlark.StringDict{
		"int":     starlark.NewBuiltin("random.int", randomInt),
		"float":   starlark.NewBuiltin("random.float", randomFloat),
		"choice":  starlark.NewBuiltin("random.choice", randomChoice),
		"shuffle": starlark.NewBuiltin("random.shuffle", randomShuffle),
		"string":  starlark.NewBuiltin("random.string", randomString),
		"uuid":    starlark.NewBuiltin("random.uuid", randomUUID),
	}}
}

// randomValue is the `random` module. It differs from a plain module in
// its answer to a Python name: random.randint says to use random.int.
type randomValue struct{ members starlark.StringDict }

// pythonNames are the Python random functions people reach for first,
// and what to use instead.
var pythonNames = map[string]string{
	"randint": "random.int(a, b), both ends included", "randrange": "random.int(a, b), both ends included",
	"random": "random.float()", "uniform": "random.float(a, b)", "choices": "random.choice(list)",
	"sample": "random.shuffle(list)[:k]", "uuid4": "random.uuid()",
}

func (m *randomValue) String() string        { return "<module random>" }
func (m *randomValue) Type() string          { return "module" }
func (m *randomValue) Freeze()               { m.members.Freeze() }
func (m *randomValue) Truth() starlark.Bool  { return true }
func (m *randomValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: module") }

// Attr returns a function of the module.
func (m *randomValue) Attr(name string) (starlark.Value, error) {
	if v, ok := m.members[name]; ok {
		return v, nil
	}
	if use, ok := pythonNames[name]; ok {
		return nil, starlark.NoSuchAttrError(fmt.Sprintf("random has no .%s: use %s", name, use))
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("random has no .%s (it has %s)", name, strings.Join(m.AttrNames(), ", ")))
}

// AttrNames lists the functions.
func (m *randomValue) AttrNames() []string { return m.members.Keys() }

// random.int(a, b) is a whole number from a to b, both included.
func randomInt(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lo, hi int64
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &lo, "b", &hi); err != nil {
		return nil, err
	}
	if lo > hi {
		return nil, fmt.Errorf("%s: a (%d) is greater than b (%d)", b.Name(), lo, hi)
	}
	r, err := randomOf(thread, b.Name())
	if err != nil {
		return nil, err
	}
	span := uint64(hi) - uint64(lo) // the count less one; cannot overflow
	if span == math.MaxUint64 {
		return starlark.MakeInt64(int64(r.Uint64())), nil
	}
	return starlark.MakeInt64(lo + int64(r.Uint64N(span+1))), nil
}

// random.float() is a number in [0, 1); random.float(a, b) one in [a, b).
func randomFloat(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var lo, hi starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a?", &lo, "b?", &hi); err != nil {
		return nil, err
	}
	a, z := 0.0, 1.0
	if lo == starlark.None && hi == starlark.None {
		lo, hi = nil, nil
	}
	if lo != nil || hi != nil {
		if lo == nil || hi == nil {
			return nil, fmt.Errorf("%s: give no bounds, or both a and b", b.Name())
		}
		var ok1, ok2 bool
		a, ok1 = starlark.AsFloat(lo)
		z, ok2 = starlark.AsFloat(hi)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: bounds must be numbers, not %s and %s", b.Name(), lo.Type(), hi.Type())
		}
		if a > z || math.IsInf(z-a, 0) || math.IsNaN(z-a) {
			return nil, fmt.Errorf("%s: need finite a <= b, got %g and %g", b.Name(), a, z)
		}
	}
	r, err := randomOf(thread, b.Name())
	if err != nil {
		return nil, err
	}
	return starlark.Float(a + (z-a)*r.Float64()), nil
}

// random.choice(seq) is one element of a list, tuple or string.
func randomChoice(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "seq", &v); err != nil {
		return nil, err
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: want a list, tuple or string, not %s", b.Name(), v.Type())
	}
	n := seq.Len()
	if n == 0 {
		return nil, fmt.Errorf("%s: the %s is empty", b.Name(), seq.Type())
	}
	r, err := randomOf(thread, b.Name())
	if err != nil {
		return nil, err
	}
	return seq.Index(r.IntN(n)), nil
}

// random.shuffle(seq) is a new list of seq's elements in random order.
// The argument is left as it is: data rows, vars and globals are frozen
// and could not be shuffled in place.
func randomShuffle(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "seq", &v); err != nil {
		return nil, err
	}
	seq, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s: want a list or another iterable, not %s", b.Name(), v.Type())
	}
	r, err := randomOf(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var elems []starlark.Value
	if s, ok := seq.(starlark.Sequence); ok {
		elems = make([]starlark.Value, 0, s.Len())
	}
	it := seq.Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		elems = append(elems, x)
	}
	r.Shuffle(len(elems), func(i, j int) { elems[i], elems[j] = elems[j], elems[i] })
	return starlark.NewList(elems), nil
}

// maxRandomString bounds random.string: a scenario that asks for more
// is more likely wrong than in need of it.
const maxRandomString = 1 << 20

const alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// random.string(n, chars=LETTERS_AND_DIGITS) is n characters drawn from
// chars.
func randomString(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int
	chars := alphanumeric
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "n", &n, "chars?", &chars); err != nil {
		return nil, err
	}
	if n < 0 || n > maxRandomString {
		return nil, fmt.Errorf("%s: n must be from 0 to %d, not %d", b.Name(), maxRandomString, n)
	}
	if chars == "" {
		return nil, fmt.Errorf("%s: chars must not be empty", b.Name())
	}
	r, err := randomOf(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	if isASCII(chars) {
		sb.Grow(n)
		for i := 0; i < n; i++ {
			sb.WriteByte(chars[r.IntN(len(chars))])
		}
		return starlark.String(sb.String()), nil
	}
	runes := []rune(chars)
	for i := 0; i < n; i++ {
		sb.WriteRune(runes[r.IntN(len(runes))])
	}
	return starlark.String(sb.String()), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// random.uuid() is a version 4 UUID drawn from the stream, so that it too
// repeats with the seed.
func randomUUID(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	r, err := randomOf(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var u [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return starlark.String(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])), nil
}
