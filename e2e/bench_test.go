package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/testenv"
)

// BenchmarkRTMPLag measures end-to-end lag on a live RTMP stream: from the
// moment a frame is captured (its timestamp) to the moment its detections are
// stored and queryable (its chunk's detected_at). Chunks hold 10 frames
// sampled every 200 ms, so a chunk spans 2 s of stream; the goal is a lag
// under two chunk durations.
func BenchmarkRTMPLag(b *testing.B) {
	s := newLiveStack(b, nil)
	rtmpURL, _ := publish(b, liveName())
	const everyMS, chunkFrames = 200, 10
	chunkDur := time.Duration(everyMS*chunkFrames) * time.Millisecond
	var meanSum, maxLag float64
	for i := 0; i < b.N; i++ {
		id := testenv.Name("capture-lag")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := s.start(id, contract.CaptureInput{StreamID: "lag", Source: rtmpURL, Settings: contract.Settings{DurationSeconds: 20, EveryMS: everyMS, ChunkFrames: chunkFrames}}).Get(ctx, nil)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		var mean, worst float64
		if err := s.db.QueryRow(context.Background(), `
			SELECT avg(extract(epoch FROM c.detected_at - f.ts)), max(extract(epoch FROM c.detected_at - f.ts))
			FROM frames f JOIN chunks c ON c.capture_id = f.capture_id AND c.seq = f.chunk_seq
			WHERE f.capture_id = $1`, id).Scan(&mean, &worst); err != nil {
			b.Fatal(err)
		}
		meanSum += mean
		maxLag = max(maxLag, worst)
	}
	mean := meanSum / float64(b.N)
	b.ReportMetric(mean*1000, "lag-mean-ms")
	b.ReportMetric(maxLag*1000, "lag-max-ms")
	b.ReportMetric(maxLag/chunkDur.Seconds(), "lag-max/chunk")
	b.ReportMetric(0, "ns/op")
}
