package counting

// Directions of a crossing.
const (
	In  = "in"  // from the negative side of A→B to the positive one
	Out = "out" // from the positive side to the negative one
)

// LineState is what a counter knows of one track against one line. It is
// part of a saved State.
type LineState struct {
	// Side is the committed side: −1, +1, or 0 until the track has been
	// seen off the line.
	Side int `json:"side"`
	// Last is the track's last anchor on the committed side.
	Last Point `json:"last"`
	// Pending counts consecutive observed frames on the other side; the
	// run began at PendingFrame, and PendingHit records whether the move
	// that began it crossed the segment itself.
	Pending      int   `json:"pending,omitempty"`
	PendingFrame int   `json:"pending_frame,omitempty"`
	PendingMS    int64 `json:"pending_ms,omitempty"`
	PendingHit   bool  `json:"pending_hit,omitempty"`
	// CountedIn and CountedOut record the directions already counted: a
	// track counts at most once each way.
	CountedIn  bool `json:"counted_in,omitempty"`
	CountedOut bool `json:"counted_out,omitempty"`
}

// lineCrossing is a crossing found by step, before it is named.
type lineCrossing struct {
	dir          string
	crossedFrame int
}

// step advances the state by the track's anchor p at frame f and returns
// the crossing it completes, if any.
func (s *LineState) step(l Line, p Point, f Frame, debounce int) (lineCrossing, bool) {
	at := side(l.From, l.To, p)
	if s.Side == 0 {
		// The first observation off the line only sets the side.
		if at != 0 {
			s.Side, s.Last = at, p
		}
		return lineCrossing{}, false
	}
	if at == 0 {
		// On the line the track stays on the side it was last seen on; as
		// the last point before a crossing, it lets a path that touches
		// the segment count and one that passes beside it not.
		if s.Pending == 0 {
			s.Last = p
			return lineCrossing{}, false
		}
		at = -s.Side
	}
	if at == s.Side {
		s.Pending = 0 // back before the debounce completed: nothing
		s.Last = p
		return lineCrossing{}, false
	}
	if s.Pending == 0 {
		s.PendingFrame, s.PendingMS = f.Index, f.PTSms
		s.PendingHit = segmentsIntersect(s.Last, p, l.From, l.To)
	}
	s.Pending++
	if s.Pending < debounce {
		return lineCrossing{}, false
	}
	c := lineCrossing{dir: In, crossedFrame: s.PendingFrame}
	if at < 0 {
		c.dir = Out
	}
	hit := s.PendingHit
	s.Side, s.Last = at, p
	s.Pending, s.PendingFrame, s.PendingMS, s.PendingHit = 0, 0, 0, false
	// A move around the segment's end changes the side without an event.
	if !hit {
		return lineCrossing{}, false
	}
	if c.dir == In {
		if s.CountedIn {
			return lineCrossing{}, false
		}
		s.CountedIn = true
	} else {
		if s.CountedOut {
			return lineCrossing{}, false
		}
		s.CountedOut = true
	}
	return c, true
}
