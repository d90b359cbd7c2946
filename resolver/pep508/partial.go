package pep508

// Decide settles one comparison of a marker ahead of evaluation, such as
// `extra == "testing"` once the chosen extras are known: variable is the
// canonical variable name, op the operator and value the literal it is
// compared with. known is false for a comparison it leaves to Evaluate.
type Decide func(variable, op, value string) (holds, known bool)

// Partial settles the comparisons decide knows and returns what remains
// to evaluate: rest is nil when the marker now holds everywhere, and
// never is true when it can hold nowhere. Tools that know some variables
// early (the extras and dependency groups chosen for a lock) use it to
// keep markers that only the target's environment can settle.
func (m *Marker) Partial(decide Decide) (rest *Marker, never bool) {
	if m == nil {
		return nil, false
	}
	switch m.kind {
	case andNode, orNode:
		var items []*Marker
		changed := false
		for _, it := range m.items {
			r, nv := it.Partial(decide)
			changed = changed || nv || r != it
			switch {
			case m.kind == andNode && nv:
				return nil, true
			case m.kind == orNode && !nv && r == nil:
				return nil, false
			case nv || r == nil:
				continue // false in an "or", true in an "and": no say
			}
			items = append(items, r)
		}
		switch len(items) {
		case 0:
			// Every operand was settled without deciding the node: an
			// "and" of truths holds, an "or" of falsehoods does not.
			return nil, m.kind == orNode
		case 1:
			return items[0], false
		}
		if !changed {
			return m, false
		}
		return &Marker{kind: m.kind, grouped: m.grouped, items: items}, false
	}
	c := &m.cmp
	var variable, value string
	switch {
	case c.lhs.variable && !c.rhs.variable:
		variable, value = c.lhs.text, c.rhs.text
	case c.rhs.variable && !c.lhs.variable && (c.op == "==" || c.op == "!="):
		// Only the symmetric operators read the same either way round.
		variable, value = c.rhs.text, c.lhs.text
	case c.rhs.variable && !c.lhs.variable && (c.op == "in" || c.op == "not in") &&
		(c.rhs.text == Extras || c.rhs.text == DependencyGroups):
		// PEP 751's set-valued variables: `"test" in dependency_groups`.
		variable, value = c.rhs.text, c.lhs.text
	default:
		return m, false
	}
	holds, known := decide(variable, c.op, value)
	switch {
	case !known:
		return m, false
	case holds:
		return nil, false
	}
	return nil, true
}
