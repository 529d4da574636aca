// Package counting counts tracked objects crossing lines and staying in
// zones of a video stream. A tracker reports, per frame, its confirmed
// tracks (ID, class, box); a Counter turns them into line crossings, zone
// entries and exits with their dwell, and per-frame zone occupancy. Its
// State can be saved as JSON between chunks and restored after a crash; the
// restored counter produces exactly the events of one that never stopped.
//
// The rules:
//
//   - A track's position is the anchor of its box, the bottom centre
//     ((x1+x2)/2, y2): where the object stands.
//   - A line runs from A (From) to B (To). In image pixels, y down, a point
//     P is on side sign((Bx−Ax)·(Py−Ay) − (By−Ay)·(Px−Ax)): positive to the
//     right of A→B as seen on screen. For A = (0,100), B = (100,100), the
//     point (50,150), below the line in the image, is on the positive side.
//     "in" is a move from the negative side to the positive, "out" the
//     reverse. A point exactly on the line keeps the side the track was last
//     seen on.
//   - A track's first observation off the line only establishes its side.
//   - A crossing counts only if the move from the track's last anchor on the
//     old side to its first anchor on the new side meets the segment AB,
//     endpoints included. A move past the segment's end changes the side
//     silently.
//   - Debounce: a side change takes effect after Debounce consecutive
//     observed frames on the new side, the first of them included (1: at
//     once; 0 in a Config: 2). Going back sooner cancels it. A crossing's
//     Frame is where the debounce completed; CrossedFrame is where the
//     track first reached the new side.
//   - A track counts at most once per direction per line.
//   - A zone is a polygon under the even-odd rule; a point on its boundary
//     is inside. Membership changes after Debounce consecutive observed
//     frames on the other side of the boundary; a track first seen inside
//     enters after Debounce frames inside. A visit enters at the first frame
//     of the run that made the track enter, exits at the last frame the
//     track was inside before the run that made it leave, and dwells the
//     stream time between, in ms.
//   - A track the tracker removes, or that is still inside at Finish, exits
//     at the last frame it was seen inside.
//   - Occupancy at a frame is, per zone and class, the number of tracks
//     whose debounced membership is inside; a visit keeps the class
//     observed when it entered.
//   - Frames a track is not observed in neither extend nor break its runs,
//     and leave its memberships as they are.
//
// Events are sorted by line or zone in configuration order, then by track
// ID, so that equal input gives equal output.
package counting
