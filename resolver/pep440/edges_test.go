package pep440

// edgeVersions returns hand-picked version strings that exercise every rule
// of the grammar, valid or not, and the orderings the PEP spells out. They
// are appended to the committed sample.
func edgeVersions() []string {
	out := []string{
		// Whitespace, case, the leading v.
		"1.0", "v1.0", "V1.0", " 1.0 ", "\t1.0\n", "1.0\r\n", "\v1.0\f",
		"\u00a01.0\u3000", "\x1c1.0\x1f", "\u20281.0\u2029", "\u200b1.0",
		"1.0 ", "  v1.0.post1  ", "vv1.0", "v 1.0", "v", "V", "1.0v",
		// Release segments and integers.
		"0", "00", "000.000", "1", "01", "1.", ".1", "1..0", "1.0.", "1.0.0.0.0.0",
		"0.0.0", "1.00.001", "2012.04", "1.2.3.4.5.6.7.8.9.10",
		"99999999999999999999", "1.99999999999999999999999999",
		"18446744073709551616.0", "9223372036854775807", "9223372036854775808",
		"1,0", "1.0,0", "1-0", "1_0", "1.0-0", "1.0_0",
		// Epochs.
		"1!1.0", "01!01.00", "0!1.0", "00!0", "1!", "!1", "1!!1", "1!v1",
		"v1!1", "1!1!1", "99999999999999999999!1", "2!1.0a1.post2.dev3+x.1",
		// Pre-releases.
		"1.0a", "1.0A1", "1.0alpha1", "1.0ALPHA-1", "1.0.alpha.1", "1.0_a_1",
		"1.0-a-1", "1.0beta", "1.0b", "1.0c", "1.0C2", "1.0rc", "1.0RC1", "1.0pre",
		"1.0preview3", "1.0-pre-3", "1.0c1", "1.0.c1", "1.0-c1", "1.0.rc.1",
		"1.0a.", "1.0a-", "1.0a_", "1.0a..1", "1.0a--1", "1.0a1a1", "1.0a1b1",
		"1.0aplha", "1.0alp", "1.0prev", "1.0previews", "1.0alpha.", "1.0a01",
		"1.0a1.0", "1.0a99999999999999999999", "1a", "1.0d", "1.0e1",
		// Post-releases.
		"1.0.post", "1.0post", "1.0-post", "1.0_post_1", "1.0.rev1", "1.0r",
		"1.0-r4", "1.0-1", "1.0-01", "1.0-", "1.0.post.", "1.0.post-",
		"1.0.post1.post2", "1.0-1-1", "1.0-1.dev1", "1.0-1a1", "1.0a1-2",
		"1.0a1-2.dev3", "1.0reva", "1.0rev", "1.0.r.1", "1.0.p", "1.0.po",
		"1.0.pos", "1.0.POST1", "1.0.Rev2", "1.0_1", "1.0.1-", "1.0--1",
		// Development releases.
		"1.0.dev", "1.0dev", "1.0-dev-2", "1.0_dev_2", "1.0.DEV3", "1.0.dev.",
		"1.0.dev1.dev2", "1.0.dev1.post1", "1.0.post1a1", "1.0de", "1.0ev",
		"1.0a1.post2.dev3", "1.0.devel", "1.0.dev1a",
		// Local versions.
		"1.0+abc", "1.0+ABC.def", "1.0+abc-1_2.3", "1.0+007", "1.0+0", "1.0+0a",
		"1.0+a0", "1.0+", "1.0+.", "1.0+a..b", "1.0+a.", "1.0+-a", "1.0+a+b",
		"1.0++a", "1.0+a b", "1.0+ubuntu-1", "1.0+1.2.3", "1.0+1.2.3a",
		"1.0+99999999999999999999", "1.0a1+x", "1.0.dev1+x", "1.0+x.dev1",
		"1.0+é", "1.0+\u212a", "1.0.po\u017ft1", "\uff11.0",
		// Junk.
		"", " ", "foo", "1.0-SNAPSHOT", "1.0.0-beta.1", "2014-05-08", "1.0(3)",
		"r5", "dev", "a1", "1.0.0.", "0.2.1z", "1.0a1.dev1.post1",
		"1.0\n1", "1.0\x00", "1.0\uFFFD",
	}
	// The ordering example of the PEP, shuffled into the rest.
	out = append(out,
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456",
		"1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456",
		"1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5",
		"1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15",
		"1.1.dev1",
		// Local label ordering: numbers above text, longer above prefix.
		"1.0+abc", "1.0+abc.0", "1.0+0.abc", "1.0+a-b", "1.0+a_b", "1.0+ab",
		"1.0+b", "1.0+aa", "1.0+a.1", "1.0+a.a", "1.0+1", "1.0+01", "1.0+10",
		"1.0+9", "1.0+1.0", "1.0.0+1", "1+1", "1.0+z", "1.0+0z",
	)
	// Every spelling of the suffixes with every separator.
	for _, label := range []string{"a", "A", "alpha", "Alpha", "b", "beta", "BETA", "c", "C", "rc", "Rc", "pre", "preview"} {
		for _, sep := range []string{"", ".", "-", "_"} {
			for _, num := range []string{"", "1", ".1", "-2", "_0", "00"} {
				out = append(out, "1.2"+sep+label+num)
			}
		}
	}
	for _, label := range []string{"post", "POST", "rev", "r", "R"} {
		for _, sep := range []string{"", ".", "-", "_"} {
			for _, num := range []string{"", "3", ".3", "-3", "_03"} {
				out = append(out, "1.2"+sep+label+num)
			}
		}
	}
	for _, label := range []string{"dev", "DEV", "Dev"} {
		for _, sep := range []string{"", ".", "-", "_"} {
			for _, num := range []string{"", "4", ".4", "-4", "_04"} {
				out = append(out, "1.2rc1"+sep+label+num)
			}
		}
	}
	return out
}
