package track

import (
	"cmp"
	"math"
	"slices"

	"github.com/sightline-video/sightline/internal/detection"
)

// Track is a confirmed track as seen by callers.
type Track struct {
	ID      int64  `json:"id"`
	ClassID int    `json:"class_id"` // of the detection that started the track
	Class   string `json:"class"`
	// Box and Score are those of the last matched detection, not the
	// filter's estimate.
	Box   [4]float32 `json:"box"`
	Score float32    `json:"score"`
	// FirstFrame and LastFrame are the indices, counted from 0 over the
	// frames this tracker consumed, of the track's first and last matched
	// detections. FirstFrame may precede confirmation.
	FirstFrame int `json:"first_frame"`
	LastFrame  int `json:"last_frame"`
}

// Result is the outcome of one Update.
type Result struct {
	// IDs holds, for each input detection at the same index, the confirmed
	// track it was assigned to, or 0.
	IDs []int64 `json:"ids"`
	// Removed lists, ascending, the confirmed tracks removed at this frame
	// for being unmatched longer than MaxLost.
	Removed []int64 `json:"removed,omitempty"`
}

// tracklet is a track inside the tracker. Its status follows from its
// fields: tentative while id is 0, tracked when matched on the last frame
// consumed, lost otherwise.
type tracklet struct {
	id          int64
	classID     int
	class       string
	first, last int // frame indices of the first and last matches
	box         [4]float32
	score       float32
	kf          kalman
}

// Tracker links detections frame by frame. It is not safe for concurrent
// use.
type Tracker struct {
	cfg    Config
	frames int   // frames consumed
	nextID int64 // ID the next confirmed track gets
	tracks []tracklet
	ws     workspace
}

// workspace holds per-frame buffers, kept to spare allocations.
type workspace struct {
	boxes     [][4]float64 // detection boxes
	pred      [][4]float64 // predicted track boxes
	high, low []int        // detection indices by score band
	trackDet  []int        // detection matched to each track, or -1
	detTrack  []int        // track matched to each detection, or -1
	rows      []int        // track indices of the pass being matched
	cols      []int        // detection indices of the pass being matched
	m         matcher
}

// New returns a tracker that has consumed no frames.
func New(cfg Config) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{cfg: cfg, nextID: 1}, nil
}

// Frames returns the number of frames consumed.
func (t *Tracker) Frames() int { return t.frames }

// Config returns the tracker's configuration.
func (t *Tracker) Config() Config { return t.cfg }

// Update consumes one frame's detections, in the order the detector gave
// them, and returns the confirmed track of each. Detections scoring below
// LowScore or not finite, or whose box is not finite with a positive size,
// are ignored.
func (t *Tracker) Update(dets []detection.Detection) Result {
	cfg := &t.cfg
	frame := t.frames
	ws := &t.ws
	res := Result{IDs: make([]int64, len(dets))}

	ws.boxes = grow(ws.boxes, len(dets))
	ws.detTrack = fill(ws.detTrack, len(dets), -1)
	ws.high, ws.low = ws.high[:0], ws.low[:0]
	for i := range dets {
		b, ok := toBox(dets[i].Box)
		ws.boxes[i] = b
		switch s := dets[i].Score; {
		case !ok || !(s >= cfg.LowScore) || math.IsInf(float64(s), 1): // NaN too
		case s >= cfg.HighScore:
			ws.high = append(ws.high, i)
		default:
			ws.low = append(ws.low, i)
		}
	}

	ws.pred = grow(ws.pred, len(t.tracks))
	ws.trackDet = fill(ws.trackDet, len(t.tracks), -1)
	for i := range t.tracks {
		tr := &t.tracks[i]
		if tr.id != 0 && tr.last < frame-1 {
			// As ByteTrack: a lost track keeps its size, or an object
			// shrinking when it was lost would vanish while predicted.
			tr.kf.mean[7] = 0
		}
		tr.kf.predict()
		ws.pred[i] = tr.kf.box()
	}

	// First pass: high scores against confirmed tracks, tracked or lost.
	ws.rows = ws.rows[:0]
	for i := range t.tracks {
		if t.tracks[i].id != 0 {
			ws.rows = append(ws.rows, i)
		}
	}
	t.associate(dets, ws.high, cfg.MatchIoU)

	// Second pass: low scores against the confirmed tracks left that were
	// tracked on the previous frame. Lost tracks are left out: a weak
	// detection is not enough to bring one back.
	ws.rows = ws.rows[:0]
	for i := range t.tracks {
		if tr := &t.tracks[i]; tr.id != 0 && tr.last == frame-1 && ws.trackDet[i] < 0 {
			ws.rows = append(ws.rows, i)
		}
	}
	t.associate(dets, ws.low, cfg.LowMatchIoU)

	// Third pass: high scores left against tentative tracks.
	ws.rows = ws.rows[:0]
	for i := range t.tracks {
		if t.tracks[i].id == 0 {
			ws.rows = append(ws.rows, i)
		}
	}
	ws.cols = ws.cols[:0]
	for _, d := range ws.high {
		if ws.detTrack[d] < 0 {
			ws.cols = append(ws.cols, d)
		}
	}
	t.associate(dets, ws.cols, cfg.TentativeMatchIoU)

	// Apply the matches in track order, so that tracks confirmed on the
	// same frame are numbered in a fixed order; drop unmatched tentative
	// tracks and confirmed ones lost too long.
	n := 0
	for i := range t.tracks {
		tr := &t.tracks[i]
		if d := ws.trackDet[i]; d >= 0 {
			tr.correct(&dets[d], ws.boxes[d], frame)
			if tr.id == 0 && frame-tr.first+1 >= cfg.ConfirmHits {
				tr.id = t.take()
			}
			res.IDs[d] = tr.id
		} else if tr.id == 0 {
			continue
		} else if frame-tr.last > cfg.MaxLost {
			res.Removed = append(res.Removed, tr.id)
			continue
		}
		if n != i {
			t.tracks[n] = *tr
		}
		n++
	}
	// Clear the tail so that removed tracks' strings can be collected.
	clear(t.tracks[n:])
	t.tracks = t.tracks[:n]

	// New tracks from the high scores still unmatched.
	for _, d := range ws.high {
		if ws.detTrack[d] >= 0 || dets[d].Score < cfg.NewTrackScore {
			continue
		}
		tr := tracklet{
			classID: dets[d].ClassID,
			class:   dets[d].Class,
			first:   frame,
			last:    frame,
			box:     dets[d].Box,
			score:   dets[d].Score,
			kf:      newKalman(measurement(ws.boxes[d])),
		}
		if frame == 0 || cfg.ConfirmHits <= 1 {
			tr.id = t.take()
			res.IDs[d] = tr.id
		}
		t.tracks = append(t.tracks, tr)
	}

	slices.Sort(res.Removed)
	t.frames++
	return res
}

// associate matches the tracks in ws.rows with the detections cols, which
// must all be unmatched, and records the pairs in ws.trackDet and
// ws.detTrack. A detection only matches a track of its class.
func (t *Tracker) associate(dets []detection.Detection, cols []int, thr float64) {
	ws := &t.ws
	rows := ws.rows
	if len(rows) == 0 || len(cols) == 0 {
		return
	}
	m := ws.m.prepare(len(rows), len(cols))
	for i, r := range rows {
		tr := &t.tracks[r]
		line := m[i*len(cols) : (i+1)*len(cols)]
		for j, d := range cols {
			v := 0.0
			if dets[d].Class == tr.class {
				v = iou(ws.pred[r], ws.boxes[d])
			}
			line[j] = v
		}
	}
	for _, p := range ws.m.match(len(rows), len(cols), thr) {
		r, d := rows[p.row], cols[p.col]
		ws.trackDet[r] = d
		ws.detTrack[d] = r
	}
}

// correct updates the track with its matched detection at frame.
func (tr *tracklet) correct(d *detection.Detection, box [4]float64, frame int) {
	z := measurement(box)
	if !tr.kf.update(z) || tr.kf.check() != nil {
		// Only rounding on a degenerate filter gets here; restart it where
		// the object is rather than lose the track or save a snapshot that
		// Restore would refuse.
		tr.kf = newKalman(z)
	}
	tr.last = frame
	tr.box = d.Box
	tr.score = d.Score
}

// take hands out the next track ID.
func (t *Tracker) take() int64 {
	id := t.nextID
	t.nextID++
	return id
}

// Active returns the confirmed tracks matched on the last frame consumed,
// by ID.
func (t *Tracker) Active() []Track {
	return t.confirmed(true)
}

// Alive returns every confirmed track not yet removed, tracked or lost, by
// ID: at the end of a video, the tracks that never got a Removed entry.
func (t *Tracker) Alive() []Track {
	return t.confirmed(false)
}

func (t *Tracker) confirmed(matchedOnly bool) []Track {
	var out []Track
	for i := range t.tracks {
		tr := &t.tracks[i]
		if tr.id == 0 || matchedOnly && tr.last != t.frames-1 {
			continue
		}
		out = append(out, Track{
			ID:         tr.id,
			ClassID:    tr.classID,
			Class:      tr.class,
			Box:        tr.box,
			Score:      tr.score,
			FirstFrame: tr.first,
			LastFrame:  tr.last,
		})
	}
	slices.SortFunc(out, func(a, b Track) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
