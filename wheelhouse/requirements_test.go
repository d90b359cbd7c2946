package wheelhouse

import (
	"strings"
	"testing"
)

func TestRequirementsPinsEachProjectOfTheTargetWithEveryHash(t *testing.T) {
	const amd, arm = "linux/amd64:3.11.2:glibc2.36", "linux/arm64:3.11.2:glibc2.36"
	pure := Entry{Filename: "django-5.2.11-py3-none-any.whl", Project: "django", Version: "5.2.11", SHA256: "dd"}
	fastAmd := Entry{Filename: "fast-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", Project: "fast", Version: "1.0", SHA256: "a1", Targets: []string{amd}}
	fastArm := Entry{Filename: "fast-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", Project: "fast", Version: "1.0", SHA256: "b2", Targets: []string{arm}}
	fastSdist := Entry{Filename: "fast-1.0.tar.gz", Project: "fast", Version: "1.0", SHA256: "c3", Targets: []string{amd}}
	fork := Entry{Filename: "xblock_fork-2.1-py3-none-any.whl", Project: "xblock-fork", Version: "2.1", SHA256: "ff", Targets: []string{amd, arm}}
	tests := []struct {
		name    string
		entries []Entry
		target  string
		want    string
		wantErr string
	}{
		{"files of other targets are left out", []Entry{fork, fastArm, pure, fastAmd}, amd,
			"django==5.2.11 \\\n    --hash=sha256:dd\n" +
				"fast==1.0 \\\n    --hash=sha256:a1\n" +
				"xblock-fork==2.1 \\\n    --hash=sha256:ff\n", ""},
		{"every file of a project on the target is a hash, sorted", []Entry{fastSdist, fastAmd}, amd,
			"fast==1.0 \\\n    --hash=sha256:a1 \\\n    --hash=sha256:c3\n", ""},
		{"the other platform", []Entry{pure, fastAmd, fastArm}, arm,
			"django==5.2.11 \\\n    --hash=sha256:dd\n" +
				"fast==1.0 \\\n    --hash=sha256:b2\n", ""},
		{"two versions of one project", []Entry{pure, {Filename: "django-4.2-py3-none-any.whl", Project: "django", Version: "4.2", SHA256: "ee"}}, amd,
			"", "django is in the closure twice, as 5.2.11 and 4.2"},
		{"nothing for the target", []Entry{fastArm}, amd, "", "installs nothing on this target"},
		{"a manifest entry without a hash", []Entry{{Filename: "x-1-py3-none-any.whl", Project: "x", Version: "1"}}, amd, "", "x-1-py3-none-any.whl has no project, version or sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := Requirements(tt.entries, tt.target)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRequirementsHeaderLinesAreComments(t *testing.T) {
	got, n, err := Requirements([]Entry{{Filename: "a-1-py3-none-any.whl", Project: "a", Version: "1", SHA256: "aa"}}, "t", "written by larder", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# written by larder\n#\na==1 \\\n    --hash=sha256:aa\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if n != 1 {
		t.Errorf("%d projects, want 1", n)
	}
}
