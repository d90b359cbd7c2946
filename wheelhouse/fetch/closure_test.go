package fetch

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestClosureIsWhatEachTargetInstallsWithItsTargets(t *testing.T) {
	amd, arm := "linux/amd64:3.11:glibc2.35", "linux/arm64:3.11:glibc2.35"
	_, lock := lockIndex(t, withSdist(smallIndex()), []string{"app"}, []string{amd, arm})
	store := newStore(t)
	opts := fastOptions(WithBuilder(&fakeBuilder{platform: true}))
	if _, err := Fetch(context.Background(), store, lock, opts...); err != nil {
		t.Fatal(err)
	}
	got, err := Closure(store, lock)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string][]string{}
	for _, e := range got {
		targets[e.Filename] = e.Targets
	}
	want := map[string][]string{
		"app-1.0-py3-none-any.whl": {amd, arm},
		"fast-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl":   {amd},
		"fast-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl": {arm},
		"srconly-0.5.tar.gz":                        {amd, arm},
		"srconly-0.5-cp311-cp311-linux_x86_64.whl":  {amd},
		"srconly-0.5-cp311-cp311-linux_aarch64.whl": {arm},
	}
	for name, ts := range want {
		if !slices.Equal(targets[name], ts) {
			t.Errorf("%s: targets %v, want %v", name, targets[name], ts)
		}
	}
	if len(got) != 8 { // app, lib, big_pkg, two fast, the sdist, two built
		var names []string
		for _, e := range got {
			names = append(names, e.Filename)
		}
		t.Errorf("closure has %d files: %v", len(got), names)
	}

	// A missing file and a changed hash are both named.
	os.Remove(store.Path("app-1.0-py3-none-any.whl"))
	store.Remove("app-1.0-py3-none-any.whl")
	e, _ := store.Lookup("lib-2.0-py3-none-any.whl")
	e.SHA256 = strings.Repeat("0", 64)
	store.Put(e)
	_, err = Closure(store, lock)
	var inc *IncompleteError
	if !errors.As(err, &inc) || len(inc.Problems) != 2 || !strings.Contains(err.Error(), "app-1.0-py3-none-any.whl (app 1.0) is missing") ||
		!strings.Contains(err.Error(), "lib-2.0-py3-none-any.whl has sha256 0000") {
		t.Errorf("got %v", err)
	}
}
