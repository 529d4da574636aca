package detector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// ErrPoolClosed is returned by Pool.Submit after Close.
var ErrPoolClosed = errors.New("detector pool is closed")

// Pool runs one model on n networks, each a Detector owned by its own
// goroutine. Work is handed over a batch at a time on one queue, so every
// network stays busy while any caller has frames waiting: a lone chunk uses
// them all, and the last chunk of a capture does not leave networks idle
// behind the one running it. Callers waiting on the queue take turns, a
// batch each.
type Pool struct {
	opts  Options
	model *model
	n     int
	work  chan task
	done  chan struct{}
	wg    sync.WaitGroup // the network goroutines

	mu      sync.Mutex
	started bool
	closed  bool
	backend string // the networks' BackendLabel, once started
}

// task is a batch of frames waiting for a network.
type task struct {
	ctx    context.Context
	imgs   []gocv.Mat
	filter *Filter
	done   func([][]Detection, error)
}

// NewPool validates opts and reads and checks the model file once, so
// configuration errors surface here rather than on the first Submit. The
// networks themselves are loaded on first use.
func NewPool(opts Options, n int) (*Pool, error) {
	if n < 1 {
		return nil, fmt.Errorf("detector pool size %d, want >= 1", n)
	}
	opts, m, err := loadModel(opts)
	if err != nil {
		return nil, err
	}
	return &Pool{opts: opts, model: m, n: n, work: make(chan task), done: make(chan struct{})}, nil
}

// start loads the n networks and starts their goroutines, once. A failure
// is returned to the caller and tried again by the next one.
func (p *Pool) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPoolClosed
	}
	if p.started {
		return nil
	}
	dets := make([]*Detector, 0, p.n)
	for range p.n {
		d, err := newDetector(p.opts, p.model)
		if err != nil {
			for _, d := range dets {
				d.Close()
			}
			return err
		}
		dets = append(dets, d)
	}
	for _, d := range dets {
		p.wg.Add(1)
		go p.run(d)
	}
	p.backend = dets[0].BackendLabel()
	p.started = true
	return nil
}

// run serves the queue on one network until the pool closes.
func (p *Pool) run(d *Detector) {
	defer p.wg.Done()
	defer d.Close()
	for {
		select {
		case t := <-p.work:
			if err := t.ctx.Err(); err != nil {
				t.done(nil, err)
				continue
			}
			start := time.Now()
			dets, err := d.DetectBatch(t.imgs, t.filter)
			if p.opts.OnBatch != nil && err == nil {
				p.opts.OnBatch(p.model.spec.Name, d.BackendLabel(), time.Since(start))
			}
			t.done(dets, err)
		case <-p.done:
			return
		}
	}
}

// Batch is the number of frames a network takes in one forward pass: the
// best size for Submit. It loads the networks if they are not yet loaded.
func (p *Pool) Batch() (int, error) {
	if err := p.start(); err != nil {
		return 0, err
	}
	return p.model.batch, nil
}

// Submit waits until a network is free, hands it imgs and returns; the
// network then calls done with each frame's detections that pass f (see
// Detector.DetectBatch), or an error. done runs on the network's goroutine,
// so it must be quick, and imgs must stay valid until it runs. When Submit
// returns an error, done is never called.
func (p *Pool) Submit(ctx context.Context, imgs []gocv.Mat, f *Filter, done func([][]Detection, error)) error {
	if err := p.start(); err != nil {
		return err
	}
	select {
	case p.work <- task{ctx: ctx, imgs: imgs, filter: f, done: done}:
		return nil
	case <-p.done:
		return ErrPoolClosed
	case <-ctx.Done():
		return fmt.Errorf("wait for a network: %w", ctx.Err())
	}
}

// Detect runs imgs on the first free network and waits for the result.
func (p *Pool) Detect(ctx context.Context, imgs []gocv.Mat, f *Filter) ([][]Detection, error) {
	type result struct {
		dets [][]Detection
		err  error
	}
	ch := make(chan result, 1)
	if err := p.Submit(ctx, imgs, f, func(d [][]Detection, err error) { ch <- result{d, err} }); err != nil {
		return nil, err
	}
	r := <-ch
	return r.dets, r.err
}

// Backend is what runs the networks (Detector.BackendLabel); empty
// until they are loaded.
func (p *Pool) Backend() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backend
}

// Size is the number of networks.
func (p *Pool) Size() int { return p.n }

// Model is the spec of the pool's model, with defaults filled in.
func (p *Pool) Model() Spec { return p.model.spec }

// Classes lists the pool's model's class names by id.
func (p *Pool) Classes() []string { return p.model.classes }

// Close stops taking work, waits for the batches already on a network and
// closes the networks. Submit fails with ErrPoolClosed afterwards.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// Models serves every model in a Registry: a Pool of n per
// model, made on first use. A model that cannot be loaded fails the calls
// that ask for it and nothing else, so a worker with a broken model file
// keeps serving the streams that use other models.
type Models struct {
	reg  *Registry
	opts Options
	n    int

	mu     sync.Mutex
	pools  map[string]*Pool
	closed bool
}

// NewModels checks opts and loads the default model (name "" in Get), so a
// worker's own configuration errors surface at start. A nil reg serves the
// built-in models.
func NewModels(reg *Registry, opts Options, n int) (*Models, error) {
	if reg == nil {
		var err error
		if reg, err = NewRegistry(""); err != nil {
			return nil, err
		}
	}
	m := &Models{reg: reg, opts: opts, n: n, pools: map[string]*Pool{}}
	if _, err := m.Pool(""); err != nil {
		return nil, err
	}
	return m, nil
}

// Registry is the set of models served.
func (m *Models) Registry() *Registry { return m.reg }

// Pool returns the pool of the named model ("" is the default), loading and
// checking the model file on first use.
func (m *Models) Pool(name string) (*Pool, error) {
	spec, err := m.reg.Get(name)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrPoolClosed
	}
	if p, ok := m.pools[spec.Name]; ok {
		return p, nil
	}
	opts := m.opts
	opts.Model = spec
	p, err := NewPool(opts, m.n)
	if err != nil {
		return nil, err
	}
	m.pools[spec.Name] = p
	if name == "" {
		m.pools[""] = p
	}
	return p, nil
}

// Warm loads the default model's networks now, so that a worker's first
// chunk does not wait for them.
func (m *Models) Warm() error {
	p, err := m.Pool("")
	if err != nil {
		return err
	}
	_, err = p.Batch()
	return err
}

// Close closes every pool.
func (m *Models) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, p := range m.pools {
		p.Close()
	}
	return nil
}
