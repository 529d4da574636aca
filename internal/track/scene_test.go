package track

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/sightline-video/sightline/internal/detection"
)

// scene returns the detections of a synthetic video: objects of a few
// classes that appear and leave, drift with noisy velocities, bounce off
// the frame's edges, are sometimes missed or hidden for a while and whose
// scores vary through the low band; plus false positives. Each frame's
// detections come shuffled. truth gives, for each detection, the index of
// its object, or -1 for a false positive. It depends only on seed.
func scene(seed int64, frames, objects int) (dets [][]detection.Detection, truth [][]int) {
	const width, height = 1920.0, 1080.0
	rng := rand.New(rand.NewSource(seed))
	classes := []string{"person", "car", "bicycle"}
	type object struct {
		class      int
		x, y, w, h float64 // centre and size
		vx, vy     float64
		start, end int // frames present
		hiddenTill int
	}
	objs := make([]object, objects)
	for i := range objs {
		start := rng.Intn(frames / 2)
		if i < objects/2 {
			start = 0
		}
		h := 40 + rng.Float64()*160
		objs[i] = object{
			class: rng.Intn(len(classes)),
			x:     100 + rng.Float64()*(width-200),
			y:     100 + rng.Float64()*(height-200),
			w:     h * (0.4 + rng.Float64()*1.2),
			h:     h,
			vx:    rng.NormFloat64() * 4,
			vy:    rng.NormFloat64() * 3,
			start: start,
			end:   start + 40 + rng.Intn(frames),
		}
	}
	dets = make([][]detection.Detection, frames)
	truth = make([][]int, frames)
	for f := range frames {
		var fd []detection.Detection
		var ft []int
		for i := range objs {
			o := &objs[i]
			if f < o.start || f >= o.end {
				continue
			}
			o.vx += rng.NormFloat64() * 0.3
			o.vy += rng.NormFloat64() * 0.3
			o.x += o.vx
			o.y += o.vy
			if o.x < o.w/2 || o.x > width-o.w/2 {
				o.vx = -o.vx
			}
			if o.y < o.h/2 || o.y > height-o.h/2 {
				o.vy = -o.vy
			}
			if f < o.hiddenTill {
				continue
			}
			switch r := rng.Float64(); {
			case r < 0.01:
				o.hiddenTill = f + 1 + rng.Intn(40) // occluded, sometimes past MaxLost
				continue
			case r < 0.06:
				continue // missed
			}
			score := float32(0.55 + rng.Float64()*0.45)
			if rng.Intn(8) == 0 {
				score = float32(0.05 + rng.Float64()*0.45)
			}
			jx, jy := rng.NormFloat64()*1.5, rng.NormFloat64()*1.5
			fd = append(fd, sceneDet(classes[o.class], o.class, score, o.x+jx, o.y+jy, o.w+jx, o.h+jy))
			ft = append(ft, i)
		}
		for rng.Float64() < 0.3 {
			c := rng.Intn(len(classes))
			fd = append(fd, sceneDet(classes[c], c, float32(0.3+rng.Float64()*0.7),
				rng.Float64()*width, rng.Float64()*height, 20+rng.Float64()*100, 20+rng.Float64()*100))
			ft = append(ft, -1)
		}
		rng.Shuffle(len(fd), func(i, j int) {
			fd[i], fd[j] = fd[j], fd[i]
			ft[i], ft[j] = ft[j], ft[i]
		})
		dets[f], truth[f] = fd, ft
	}
	return dets, truth
}

func sceneDet(class string, classID int, score float32, cx, cy, w, h float64) detection.Detection {
	return detection.Detection{
		ClassID: classID,
		Class:   class,
		Score:   score,
		Box: [4]float32{
			float32(math.Max(cx-w/2, 0)), float32(math.Max(cy-h/2, 0)),
			float32(cx + w/2), float32(cy + h/2),
		},
	}
}

func TestSceneIDs(t *testing.T) {
	frames, truth := scene(11, 300, 20)
	cfg := DefaultConfig()
	tr := newTracker(t, cfg)
	class := map[int64]string{}
	removed := map[int64]bool{}
	var maxID int64
	objID := map[int]int64{} // object → its current ID
	objLast := map[int]int{} // object → last frame it had an ID
	real, labelled := 0, 0   // true detections above LowScore, and with an ID
	for f, dets := range frames {
		res := tr.Update(dets)
		if len(res.IDs) != len(dets) {
			t.Fatalf("frame %d: %d IDs for %d detections", f, len(res.IDs), len(dets))
		}
		seen := map[int64]bool{}
		for i, id := range res.IDs {
			o := truth[f][i]
			if o >= 0 && dets[i].Score >= cfg.LowScore {
				real++
			}
			if id == 0 {
				continue
			}
			if o < 0 {
				t.Fatalf("frame %d: false positive %d got id %d", f, i, id)
			}
			labelled++
			// An object changes ID only when its old track may have been
			// removed: after more than MaxLost frames without one.
			if prev, ok := objID[o]; ok && prev != id && f-objLast[o] <= cfg.MaxLost {
				t.Fatalf("frame %d: object %d switched from id %d to %d after %d frames",
					f, o, prev, id, f-objLast[o])
			}
			objID[o], objLast[o] = id, f
			if seen[id] {
				t.Fatalf("frame %d: id %d given to two detections", f, id)
			}
			seen[id] = true
			if removed[id] {
				t.Fatalf("frame %d: id %d used after removal", f, id)
			}
			if c, ok := class[id]; ok && c != dets[i].Class {
				t.Fatalf("frame %d: id %d was %q, now %q", f, id, c, dets[i].Class)
			}
			class[id] = dets[i].Class
		}
		// Tracks confirmed on this frame take the next IDs, without gaps.
		for maxID < int64(len(class)) {
			maxID++
			if _, ok := class[maxID]; !ok {
				t.Fatalf("frame %d: ids skip %d", f, maxID)
			}
		}
		if !slices.IsSorted(res.Removed) {
			t.Fatalf("frame %d: removed %v not sorted", f, res.Removed)
		}
		for _, id := range res.Removed {
			if _, ok := class[id]; !ok || removed[id] {
				t.Fatalf("frame %d: removed unknown or already removed id %d", f, id)
			}
			removed[id] = true
		}
		active := tr.Active()
		if len(active) != len(seen) {
			t.Fatalf("frame %d: %d active tracks, %d IDs assigned", f, len(active), len(seen))
		}
		for _, a := range active {
			if !seen[a.ID] || a.LastFrame != f {
				t.Fatalf("frame %d: active track %+v not matched this frame", f, a)
			}
		}
	}
	if maxID < 20 || int(maxID) != len(class) {
		t.Fatalf("ids 1..%d with %d distinct; want dense and at least 20", maxID, len(class))
	}
	alive := tr.Alive()
	if len(alive)+len(removed) != len(class) {
		t.Fatalf("%d alive + %d removed != %d tracks", len(alive), len(removed), len(class))
	}
	if labelled < real*9/10 {
		t.Fatalf("%d of %d true detections labelled, want 90%%", labelled, real)
	}
	t.Logf("%d tracks for %d objects, %d removed, %d alive at the end; %d of %d true detections labelled",
		len(class), len(objID), len(removed), len(alive), labelled, real)
}
