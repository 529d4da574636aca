package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/testenv"
)

// BenchmarkGPU runs the detector (letterbox, forward pass, decoding, NMS)
// over every frame of vtest.avi on ONNX Runtime's GPU providers, for each
// batch size the model takes and 1 to 4 sessions sharing the GPU, and
// prints one line per setting:
//
//	gpu-bench: provider=P batch=B sessions=S frames_per_s=F detections_per_s=D
//
// It needs a GPU and the libraries of docs/gpu.md, and fails without them.
// SIGHTLINE_GPU_PROVIDER picks cuda (default) or tensorrt; make bench-gpu
// runs it.
func BenchmarkGPU(b *testing.B) {
	provider := os.Getenv("SIGHTLINE_GPU_PROVIDER")
	if provider == "" {
		provider = detector.BackendCUDA
	}
	frames := readFrames(b, testenv.SharedFile(b, "vtest.avi"))
	defer closeFrames(frames)
	for range b.N {
		for _, batch := range []int{1, 4, 8, 16} {
			for _, sessions := range []int{1, 2, 4} {
				fps, dps, took := gpuRun(b, frames, provider, batch, sessions)
				if took != batch {
					if sessions == 1 {
						fmt.Printf("    batch %d: the model's graph takes %d frame(s) per pass\n", batch, took)
					}
					continue
				}
				fmt.Printf("gpu-bench: provider=%s batch=%d sessions=%d frames_per_s=%.1f detections_per_s=%.0f\n",
					provider, batch, sessions, fps, dps)
			}
		}
	}
}

// gpuRun detects every frame twice (the first round warms the sessions up
// and, on TensorRT, builds or loads the engines) and times the second. It
// returns frames/s, detections/s and the batch the model took.
func gpuRun(b *testing.B, frames []gocv.Mat, provider string, batch, sessions int) (float64, float64, int) {
	m, err := detector.NewModels(nil, detector.Options{Runtime: detector.RuntimeONNX, Backend: provider, Batch: batch}, sessions)
	if err != nil {
		b.Fatalf("provider %s: %v", provider, err)
	}
	defer m.Close()
	pool, err := m.Pool("")
	if err != nil {
		b.Fatal(err)
	}
	took, err := pool.Batch()
	if err != nil {
		b.Fatalf("provider %s: %v", provider, err)
	}
	run := func() int {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			dets int
		)
		for i := 0; i < len(frames); i += took {
			wg.Add(1)
			err := pool.Submit(context.Background(), frames[i:min(i+took, len(frames))], nil, func(out [][]detector.Detection, err error) {
				defer wg.Done()
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				for _, d := range out {
					dets += len(d)
				}
				mu.Unlock()
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		wg.Wait()
		return dets
	}
	run()
	start := time.Now()
	dets := run()
	s := time.Since(start).Seconds()
	return float64(len(frames)) / s, float64(dets) / s, took
}
