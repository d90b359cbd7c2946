package pep508

import "testing"

func TestPartialSettlesOnlyTheComparisonsItIsTold(t *testing.T) {
	chosen := map[string]bool{"testing": true}
	decide := func(variable, op, value string) (bool, bool) {
		if variable != Extra || op != "==" && op != "!=" {
			return false, false
		}
		return chosen[value] == (op == "=="), true
	}
	for _, tt := range []struct {
		marker, rest string
		never        bool
	}{
		{`extra == "testing"`, "", false},
		{`extra == "doc"`, "", true},
		{`extra != "doc"`, "", false},
		{`"testing" == extra`, "", false},
		{`python_version < "3.13"`, `python_version < "3.13"`, false},
		{`extra == "testing" and python_version < "3.13"`, `python_version < "3.13"`, false},
		{`extra == "doc" and python_version < "3.13"`, "", true},
		{`extra == "doc" or python_version < "3.13"`, `python_version < "3.13"`, false},
		{`extra == "testing" or python_version < "3.13"`, "", false},
		{`python_version < "3.13" or (extra == "testing" and sys_platform == "linux")`, `python_version < "3.13" or sys_platform == "linux"`, false},
		{`(extra == "doc" or extra == "dos") and python_version < "3.13"`, "", true},
		{`"linux" in extra`, `"linux" in extra`, false},
	} {
		m, err := ParseMarker(tt.marker)
		if err != nil {
			t.Fatal(err)
		}
		rest, never := m.Partial(decide)
		if rest.String() != tt.rest || never != tt.never {
			t.Errorf("%s: Partial = %q, never %v; want %q, never %v", tt.marker, rest.String(), never, tt.rest, tt.never)
		}
	}
}
