package resolver

import "strings"

// describeSet renders name restricted to a set of its candidates (given
// ascending in versions) as a requirement a person can read: "foo",
// "foo==1.2", "foo>=1.2", "foo>=1.2,<=1.4", "foo!=1.3", or runs joined by
// " or ". Bounds are actual candidate versions, which is exact: nothing
// outside the candidate list can be chosen anyway.
func describeSet(name string, versions []string, s vset) string {
	n := len(versions)
	members := s.members()
	switch {
	case len(members) == n && n > 0:
		return name
	case len(members) == 0:
		return name + " (no version)"
	case len(members) == 1:
		return name + "==" + versions[members[0]]
	}
	if out := s.not().members(); len(out) == 1 {
		return name + "!=" + versions[out[0]]
	}
	var runs []string
	for i := 0; i < len(members); {
		j := i
		for j+1 < len(members) && members[j+1] == members[j]+1 {
			j++
		}
		lo, hi := members[i], members[j]
		switch {
		case lo == hi:
			runs = append(runs, name+"=="+versions[lo])
		case lo == 0:
			runs = append(runs, name+"<="+versions[hi])
		case hi == n-1:
			runs = append(runs, name+">="+versions[lo])
		default:
			runs = append(runs, name+">="+versions[lo]+",<="+versions[hi])
		}
		i = j + 1
	}
	return strings.Join(runs, " or ")
}
