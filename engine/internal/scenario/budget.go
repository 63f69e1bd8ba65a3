package scenario

import (
	"gopkg.in/yaml.v3"
)

// Budgets on a YAML document, checked before anything walks it. yaml.v3
// keeps an alias as a pointer to its anchor, so a tiny file can stand for
// an endless tree (an alias inside the node it names) or a huge one
// (billion laughs: nine aliases to nine aliases to ..., or a chain of
// merge keys). Every later stage (the decoder, the compiler, the
// conversion of variables to Starlark) follows aliases, so the document is
// measured once, as it would be expanded, and refused when too big.
const (
	// MaxAliasNodes bounds how many nodes aliases (merge keys included)
	// may add to a document when expanded. A scenario that reuses a block
	// of settings a few hundred times stays far below it.
	MaxAliasNodes = 100_000
	// MaxDepth bounds how deeply a document nests, aliases followed:
	// deeper values cannot be compiled to Starlark, whose parser stops
	// at a fixed nesting depth.
	MaxDepth = 64
)

// budget measures a document as expanded: size and depth of every anchored
// node are computed once, so the check itself is linear in the file.
type budget struct {
	d     *decoder
	size  map[*yaml.Node]int // expanded node count, saturating at MaxAliasNodes+1
	depth map[*yaml.Node]int // expanded nesting depth
	open  map[*yaml.Node]bool
	added int // nodes added by the aliases seen so far
	bad   bool
}

// overBudget reports whether doc holds an alias cycle or expands past
// MaxAliasNodes or MaxDepth. The problem is recorded at the position of
// the alias (or node) at fault; the document must then not be walked.
func (d *decoder) overBudget(doc *yaml.Node) bool {
	b := &budget{d: d, size: map[*yaml.Node]int{}, depth: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	b.walk(doc, 1)
	return b.bad
}

// walk visits the document as written (each node once), adding the
// expanded size of every alias to the running total, so that the alias
// that crosses a budget is the one reported. level counts from 1 at the
// document node.
func (b *budget) walk(n *yaml.Node, level int) {
	if b.bad || n == nil {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		size, depth, ok := b.measure(n.Alias, n, MaxDepth-level+1)
		switch {
		case !ok:
		case level+depth-1 > MaxDepth:
			b.fail(n, "alias *%s nests the document deeper than %d levels (aliases and merge keys included)", n.Value, MaxDepth)
		default:
			b.added = sat(b.added + size)
			if b.added > MaxAliasNodes {
				b.fail(n, "aliases expand this document to more than %d extra nodes (an alias bomb?); write the values out or share fewer of them", MaxAliasNodes)
			}
		}
		return
	}
	if level > MaxDepth {
		b.fail(n, "the document nests deeper than %d levels", MaxDepth)
		return
	}
	b.open[n] = true
	for _, c := range n.Content {
		b.walk(c, level+1)
	}
	delete(b.open, n)
}

// measure returns the expanded size and depth of n, reached through the
// alias at, where room levels are left. A depth over room stops the
// measuring early (the caller refuses it), which also bounds the
// recursion. An alias to a node that is being measured, or that encloses
// the alias, is a cycle.
func (b *budget) measure(n, at *yaml.Node, room int) (size, depth int, ok bool) {
	if b.open[n] {
		b.fail(at, "alias *%s refers to a node that contains it (an alias cycle): the value would be endless", at.Value)
		return 0, 0, false
	}
	if s, done := b.size[n]; done {
		return s, b.depth[n], true
	}
	if room <= 0 {
		return 1, 1, true // one level too deep already: refused by the caller
	}
	b.open[n] = true
	defer delete(b.open, n)
	size, depth = 1, 0
	for _, c := range n.Content {
		target, via := c, at
		if c.Kind == yaml.AliasNode {
			if c.Alias == nil {
				continue
			}
			target, via = c.Alias, c
		}
		s, dep, ok := b.measure(target, via, room-1)
		if !ok {
			return 0, 0, false
		}
		size = sat(size + s)
		depth = max(depth, dep)
		if depth >= room {
			return size, depth + 1, true // too deep; not remembered, as it is partial
		}
	}
	b.size[n], b.depth[n] = size, depth+1
	return size, depth + 1, true
}

func (b *budget) fail(n *yaml.Node, format string, args ...any) {
	b.d.errorf(n, format, args...)
	b.bad = true
}

// sat adds up node counts without overflowing: past the budget the exact
// number does not matter.
func sat(n int) int { return min(n, MaxAliasNodes+1) }
