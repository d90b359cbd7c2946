package cmd

import (
	"strings"
	"testing"

	"github.com/larder-build/larder/images"
)

func TestBakeProgressSaysWhichLayoutItWaitsForThenGoesOn(t *testing.T) {
	p := &bakeProgress{}
	steps := []struct {
		event images.Event
		want  string
	}{
		{images.Event{Phase: images.PhaseWait, Wait: "/srv/out"}, "waiting for another larder process using /srv/out"},
		{images.Event{Phase: images.PhaseWait}, "planning layers"},
		{images.Event{Phase: images.PhaseWrite, N: 1000, Total: 4000}, "writing: 1.0 kB of 4.0 kB"},
		{images.Event{Phase: images.PhaseWait, Wait: "/srv/out"}, "waiting for another larder process using /srv/out"},
		// The wait over, the write goes on where it was.
		{images.Event{Phase: images.PhaseWait}, "writing: 1.0 kB of 4.0 kB"},
	}
	for i, s := range steps {
		p.event(s.event)
		if got := p.line(); !strings.HasPrefix(got, s.want) {
			t.Errorf("after event %d (%+v) the line is %q, want %q", i, s.event, got, s.want)
		}
	}
}
