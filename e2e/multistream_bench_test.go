package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/metrics"
	"github.com/sightline-video/sightline/internal/testenv"
	"github.com/sightline-video/sightline/workflows"
)

// Multi-stream capacity: each stream samples one frame a second into
// chunks of 5 frames, so a chunk spans 5 s of stream.
const (
	msEveryMS     = 1000
	msChunkFrames = 5
	msChunk       = msEveryMS * msChunkFrames * time.Millisecond
)

// msResult is one step of the capacity benchmark: N streams for a while.
type msResult struct {
	streams            int
	captured, analysed int // frames
	skipped, lost      int
	expected           int           // frames at one a second per stream while they were watched
	lagMax             time.Duration // worst frame-to-queryable lag
	cpuMain, cpuDetect time.Duration // worker processes' CPU time
	cpuServices        time.Duration // Temporal, MinIO and PostgreSQL's CPU time
	machineBusy        float64       // share of every core busy, all processes
	backlogDetect      int64         // worst detect-queue backlog seen (activity tasks)
	backlogMain        int64         // worst main-queue backlog seen (workflow + activity tasks)
	elapsed            time.Duration
	windowsFailed      int
}

func (r msResult) lagChunks() float64 { return r.lagMax.Seconds() / msChunk.Seconds() }

// coverage is the share of the expected frames captured: frames a stream
// never captured are lost to its user too.
func (r msResult) coverage() float64 { return float64(r.captured) / float64(max(1, r.expected)) }

// held: lag under two chunk durations, nothing lost, and at least 90% of
// the expected frames captured.
func (r msResult) held() bool { return r.lagChunks() < 2 && r.lost == 0 && r.coverage() >= 0.9 }

// BenchmarkMultiStream finds how many live streams one machine watches at
// one frame a second. The live rig publishes N looped RTMP streams of
// vtest.avi (H.264, sent as is), and a StreamWorkflow watches each in
// complete mode, so falling behind shows as lag rather than skipped frames.
// The workers run as two processes, split by role as on separate machines:
// `sightline worker --roles main` (workflows, capture, tracking, rollups)
// and `sightline worker --roles detect`. Each N runs for
// SIGHTLINE_BENCH_SECONDS (default 180); N doubles from 1
// (SIGHTLINE_BENCH_STREAMS lists them instead) until a step's worst
// frame-to-queryable lag reaches two chunk durations, a frame is lost, or
// under 90% of the expected frames are captured. It ends with
// `multistream-bench: max_streams=N fps_per_stream=1 lag_max_chunks=X
// coverage=C lost=0` for the largest N that held.
func BenchmarkMultiStream(b *testing.B) {
	steps := []int{1, 2, 4, 8, 16, 32, 64}
	if v := os.Getenv("SIGHTLINE_BENCH_STREAMS"); v != "" {
		steps = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("SIGHTLINE_BENCH_STREAMS=%q: want a list of stream counts", v)
			}
			steps = append(steps, n)
		}
	}
	hold := 180 * time.Second
	if v := os.Getenv("SIGHTLINE_BENCH_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			b.Fatalf("SIGHTLINE_BENCH_SECONDS=%q: want at least 10", v)
		}
		hold = time.Duration(n) * time.Second
	}
	bin := buildPlain(b)
	flv := h264Sample(b)
	rig(b, "start")
	for i := 0; i < b.N; i++ {
		s := newStack(b)
		s.env = append(s.env, "SIGHTLINE_LOG_LEVEL=error")
		mainCmd := startPlain(b, s, bin, "worker", "--roles", "main")
		detectCmd := startPlain(b, s, bin, "worker", "--roles", "detect")
		tc := testenv.Temporal(b)
		var results []msResult
		for _, n := range steps {
			r := s.multiStreamStep(tc, n, hold, flv, mainCmd.Process.Pid, detectCmd.Process.Pid)
			results = append(results, r)
			fmt.Printf("  streams=%-3d lag_max=%6.1fs (%.2f chunks) captured=%d of %d (%.0f%%) analysed=%d skipped=%d lost=%d "+
				"cpu/stream: main %.3f + detect %.3f + services %.3f cores, machine busy %.0f%%; backlog max: detect %d, main %d; failed windows %d\n",
				r.streams, r.lagMax.Seconds(), r.lagChunks(), r.captured, r.expected, 100*r.coverage(),
				r.analysed, r.skipped, r.lost, perStream(r.cpuMain, r), perStream(r.cpuDetect, r), perStream(r.cpuServices, r),
				100*r.machineBusy, r.backlogDetect, r.backlogMain, r.windowsFailed)
			if !r.held() {
				break
			}
		}
		best := msResult{}
		for _, r := range results {
			if r.held() {
				best = r
			}
		}
		fmt.Printf("multistream-bench: max_streams=%d fps_per_stream=1 lag_max_chunks=%.2f coverage=%.2f lost=%d\n",
			best.streams, best.lagChunks(), best.coverage(), best.lost)
		b.ReportMetric(float64(best.streams), "max_streams")
	}
}

func perStream(cpu time.Duration, r msResult) float64 {
	return cpu.Seconds() / r.elapsed.Seconds() / float64(r.streams)
}

// multiStreamStep watches n live streams for hold, then stops their
// workflows (which detect what they stored) and reads the outcome from the
// database.
func (s *stack) multiStreamStep(tc client.Client, n int, hold time.Duration, flv string, mainPID, detectPID int) msResult {
	b := s.t
	ctx := context.Background()
	var ids, streams []string
	for i := range n {
		name := fmt.Sprintf("ms%dx%d", n, i)
		rig(b, "publish", name, flv)
		streams = append(streams, name)
		url := rigRTMP(name)
		if _, err := s.db.Exec(ctx, `INSERT INTO streams (id, name, source) VALUES ($1, $1, $2)`, name, url); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		for _, name := range streams {
			rig(b, "unpublish", name)
		}
	}()
	cpu0 := [3]time.Duration{procCPU(b, mainPID), procCPU(b, detectPID), servicesCPU(b)}
	busy0, total0 := machineCPU(b)
	start := time.Now()
	for _, name := range streams {
		id := testenv.Name("watch-" + name) // window ids are never reused
		_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.queue}, workflows.StreamWorkflow,
			contract.StreamInput{StreamID: name, Settings: contract.Settings{DurationSeconds: 60, EveryMS: msEveryMS,
				ChunkFrames: msChunkFrames, Mode: contract.ModeComplete, DetectTaskQueue: s.detect}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	r := msResult{streams: n}
	var mu sync.Mutex
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // the task queues' backlogs, every 5 s
		defer close(sampled)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			d, _ := metrics.QueueBacklog(ctx, tc, "default", s.detect, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
			w, _ := metrics.QueueBacklog(ctx, tc, "default", s.queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
			a, _ := metrics.QueueBacklog(ctx, tc, "default", s.queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
			mu.Lock()
			r.backlogDetect, r.backlogMain = max(r.backlogDetect, d.Tasks), max(r.backlogMain, w.Tasks+a.Tasks)
			mu.Unlock()
		}
	}()
	time.Sleep(hold)
	stopAt := time.Now()
	for _, id := range ids {
		if err := tc.CancelWorkflow(ctx, id, ""); err != nil {
			b.Fatalf("stop %s: %v", id, err)
		}
	}
	waitFor(b, fmt.Sprintf("%d stream workflows to stop", n), 10*time.Minute, func() bool {
		return s.count(`SELECT count(*) FROM captures WHERE stream_id = ANY($1) AND status = 'running'`, streams) == 0
	})
	r.elapsed = time.Since(start)
	close(done)
	<-sampled
	r.cpuMain, r.cpuDetect, r.cpuServices = procCPU(b, mainPID)-cpu0[0], procCPU(b, detectPID)-cpu0[1], servicesCPU(b)-cpu0[2]
	r.expected = n * int(stopAt.Sub(start).Seconds())
	busy1, total1 := machineCPU(b)
	r.machineBusy = float64(busy1-busy0) / float64(total1-total0)

	var lag float64
	err := s.db.QueryRow(ctx, `SELECT coalesce(sum(frame_count), 0), coalesce(sum(frame_count) FILTER (WHERE skipped_at IS NOT NULL), 0),
		(SELECT count(*) FROM frames WHERE stream_id = ANY($1)),
		(SELECT coalesce(max(extract(epoch FROM c.detected_at - f.ts)), 0)::float8
		 FROM frames f JOIN chunks c ON c.capture_id = f.capture_id AND c.seq = f.chunk_seq
		 WHERE f.stream_id = ANY($1) AND c.written_at < $2),
		(SELECT count(*) FROM captures WHERE stream_id = ANY($1) AND status = 'failed')
		FROM chunks WHERE stream_id = ANY($1)`, streams, stopAt).Scan(&r.captured, &r.skipped, &r.analysed, &lag, &r.windowsFailed)
	if err != nil {
		b.Fatal(err)
	}
	r.lagMax = time.Duration(lag * float64(time.Second))
	// Where the worst lag went (waiting to be stored, or to be detected),
	// and why windows failed: what to fix next.
	var worst string
	_ = s.db.QueryRow(ctx, `SELECT format('%s chunk %s: frame to stored %ss, stored to detected %ss', c.capture_id, c.seq,
		round(extract(epoch FROM c.written_at - f.ts)::numeric, 1), round(extract(epoch FROM c.detected_at - c.written_at)::numeric, 1))
		FROM frames f JOIN chunks c ON c.capture_id = f.capture_id AND c.seq = f.chunk_seq
		WHERE f.stream_id = ANY($1) AND c.written_at < $2 ORDER BY c.detected_at - f.ts DESC LIMIT 1`, streams, stopAt).Scan(&worst)
	fmt.Printf("    worst lag: %s\n", worst)
	for _, p := range s.pairs(`SELECT left(coalesce(error, ''), 200), count(*)::int FROM captures
		WHERE stream_id = ANY($1) AND status = 'failed' GROUP BY 1`, streams) {
		fmt.Printf("    %d windows failed: %s\n", p.v, p.k)
	}
	r.lost = r.captured - r.analysed - r.skipped
	return r
}

// servicesCPU is the CPU time of the local services' processes alive now:
// the Temporal dev server, MinIO and every PostgreSQL process (a backend
// that exited in between is missed, so this is a floor).
func servicesCPU(b testing.TB) time.Duration {
	var total time.Duration
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		name := filepath.Base(strings.SplitN(string(cmd), "\x00", 2)[0])
		if name == "temporal" || name == "minio" || strings.HasPrefix(string(cmd), "postgres") {
			if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
				total += statCPU(data)
			}
		}
	}
	return total
}

// buildPlain builds sightline without the race detector, which would
// slow the workers down several times and make the capacity a fiction.
func buildPlain(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "sightline")
	build := exec.Command("go", "build", "-o", bin, "../cmd/sightline")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("build sightline: %v", err)
	}
	return bin
}

func startPlain(b *testing.B, s *stack, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start sightline %v: %v", args, err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// h264Sample encodes vtest.avi once as H.264 in FLV, which the rig then
// publishes without re-encoding: N publishers cost next to nothing.
func h264Sample(b testing.TB) string {
	out := filepath.Join(testenv.RepoRoot(b), ".data", "live", "vtest-h264.flv")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		b.Fatal(err)
	}
	tmp := out + ".tmp.flv"
	enc := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", testenv.SharedFile(b, "vtest.avi"),
		"-c:v", "libx264", "-preset", "veryfast", "-g", "10", "-an", tmp)
	if out, err := enc.CombinedOutput(); err != nil {
		b.Fatalf("encode the H.264 sample: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, out); err != nil {
		b.Fatal(err)
	}
	return out
}

// procCPU is a process's user and system CPU time, from /proc.
func procCPU(b testing.TB, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("cpu of %d: %v", pid, err)
	}
	return statCPU(data)
}

// statCPU reads utime and stime (fields 14 and 15) from a /proc stat line.
func statCPU(data []byte) time.Duration {
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// machineCPU is the busy and total jiffies of all cores, from /proc/stat.
func machineCPU(b testing.TB) (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])[1:]
	for i, v := range f {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}
