package detector

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrPoolClosed is returned by Pool.Get after Close.
var ErrPoolClosed = errors.New("detector pool is closed")

// Pool hands out up to n Detectors sharing the same Options, so n goroutines
// can run detection in parallel without sharing a (non-thread-safe)
// Detector. Detectors are created lazily on first demand.
type Pool struct {
	opts  Options
	model *model
	idle  chan *Detector
	slots chan struct{} // one token per Detector that may still be created

	mu     sync.Mutex
	closed bool
	done   chan struct{}
}

// NewPool validates opts and reads and checks the model file once, so
// configuration errors surface here rather than on the first Get.
func NewPool(opts Options, n int) (*Pool, error) {
	if n < 1 {
		return nil, fmt.Errorf("detector pool size %d, want >= 1", n)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("detector options: %w", err)
	}
	m, err := loadModel(opts)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		opts:  opts,
		model: m,
		idle:  make(chan *Detector, n),
		slots: make(chan struct{}, n),
		done:  make(chan struct{}),
	}
	for range n {
		p.slots <- struct{}{}
	}
	return p, nil
}

// Get returns an idle Detector, creates one if fewer than n exist, or waits
// until one is Put back or ctx is done. The caller must Put it back.
func (p *Pool) Get(ctx context.Context) (*Detector, error) {
	if d, err := p.TryGet(); d != nil || err != nil {
		return d, err
	}
	select {
	case d := <-p.idle:
		return d, nil
	case <-p.slots:
		return p.createInSlot()
	case <-p.done:
		return nil, ErrPoolClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for detector: %w", ctx.Err())
	}
}

// TryGet returns an idle Detector or creates one if fewer than n exist, and
// nil when all n are busy: for work that can use more detectors but must
// not wait for them.
func (p *Pool) TryGet() (*Detector, error) {
	// Prefer an idle Detector over loading another network.
	select {
	case d := <-p.idle:
		return d, nil
	default:
	}
	select {
	case d := <-p.idle:
		return d, nil
	case <-p.slots:
		return p.createInSlot()
	default:
		return nil, nil
	}
}

// createInSlot makes a Detector for a slot just taken, giving the slot back
// if that fails.
func (p *Pool) createInSlot() (*Detector, error) {
	d, err := p.create()
	if err != nil {
		p.slots <- struct{}{}
	}
	return d, err
}

func (p *Pool) create() (*Detector, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrPoolClosed
	}
	d, err := newDetector(p.opts, p.model)
	if err != nil {
		return nil, err
	}
	d.pool = p
	return d, nil
}

// Size is the most Detectors the pool holds.
func (p *Pool) Size() int { return cap(p.slots) }

// Model is the spec of the pool's model, with defaults filled in.
func (p *Pool) Model() Spec { return p.model.spec }

// Classes lists the pool's model's class names by id.
func (p *Pool) Classes() []string { return p.model.classes }

// Put returns a Detector obtained from Get. After Close it is closed instead.
func (p *Pool) Put(d *Detector) {
	if d == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		d.Close()
		return
	}
	select {
	case p.idle <- d:
	default:
		// Only reachable if d did not come from this pool (or was Put
		// twice); closing it beats blocking forever.
		d.Close()
	}
}

// Close closes the idle Detectors; ones still checked out are closed when
// they are Put back. Get fails with ErrPoolClosed afterwards.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.done)
	for {
		select {
		case d := <-p.idle:
			d.Close()
		default:
			return nil
		}
	}
}

// Models serves Detectors of every model in a Registry: a Pool of n per
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

// Release hands a Detector back to the pool it came from, or closes it if
// it was made with New.
func (d *Detector) Release() {
	if d.pool != nil {
		d.pool.Put(d)
		return
	}
	d.Close()
}
