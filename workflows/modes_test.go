package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/sightline-video/sightline/activities"
	"github.com/sightline-video/sightline/internal/contract"
)

func seqs(refs []activities.ChunkRef) []int {
	var out []int
	for _, r := range refs {
		out = append(out, r.Seq)
	}
	return out
}

func TestRealtimeQueueNewestFirstSkipsTheStale(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	queue := chunkRefs(6)
	readyAt := map[int]time.Time{}
	for i := range 6 {
		readyAt[i] = t0.Add(time.Duration(i) * time.Second) // a chunk a second
	}
	detected := map[int]bool{2: true}
	now := t0.Add(6 * time.Second)

	keep, skip := realtimeQueue(queue, readyAt, detected, now, 3*time.Second)
	// Chunks 0 and 1 waited 6 and 5 s; 3, 4 and 5 waited at most 3 s.
	if !slices.Equal(seqs(keep), []int{5, 4, 3}) || !slices.Equal(seqs(skip), []int{0, 1}) {
		t.Errorf("keep %v skip %v, want [5 4 3] and [0 1]", seqs(keep), seqs(skip))
	}
	// No limit yet: nothing is skipped, the newest still goes first.
	keep, skip = realtimeQueue(queue, readyAt, detected, now, 0)
	if !slices.Equal(seqs(keep), []int{5, 4, 3, 1, 0}) || len(skip) != 0 {
		t.Errorf("without a limit: keep %v skip %v", seqs(keep), seqs(skip))
	}
}

func TestEffectiveModeAndMaxLag(t *testing.T) {
	p := &pipeline{modes: true, readyAt: map[int]time.Time{}, prog: &contract.CaptureProgress{}}
	if p.effectiveMode() != contract.ModeComplete {
		t.Error("a file source is complete by default")
	}
	p.live = true
	if p.effectiveMode() != contract.ModeRealtime {
		t.Error("a live source is realtime by default")
	}
	p.mode = contract.ModeComplete
	if p.effectiveMode() != contract.ModeComplete {
		t.Error("a mode set wins over the source's")
	}
	old := &pipeline{modes: false, live: true, mode: contract.ModeRealtime}
	if old.effectiveMode() != contract.ModeComplete {
		t.Error("runs from before modes existed stay complete")
	}

	p.in.ChunkFrames, p.in.EveryMS = 10, 500
	if got := p.maxLag(); got != 10*time.Second {
		t.Errorf("max lag %v, want two chunks of 10 frames at 500 ms", got)
	}
	p.in.MaxLagSeconds = 1.5
	if got := p.maxLag(); got != 1500*time.Millisecond {
		t.Errorf("max lag %v, want the setting", got)
	}
	// Every frame kept: two of the intervals between chunks arriving.
	p.in.MaxLagSeconds, p.in.EveryMS = 0, 0
	if got := p.maxLag(); got != 0 {
		t.Errorf("max lag %v before two chunks arrived, want 0 (no skipping)", got)
	}
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p.readyAt[0], p.readyAt[1], p.readyAt[2] = t0, t0.Add(800*time.Millisecond), t0.Add(2*time.Second)
	p.firstReady, p.lastReady = t0, t0.Add(2*time.Second)
	if got := p.maxLag(); got != 2*time.Second {
		t.Errorf("max lag %v, want 2 × 1 s between chunks", got)
	}
}
