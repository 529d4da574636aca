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
	model model
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
		d, err := p.create()
		if err != nil {
			p.slots <- struct{}{}
			return nil, err
		}
		return d, nil
	case <-p.done:
		return nil, ErrPoolClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for detector: %w", ctx.Err())
	}
}

func (p *Pool) create() (*Detector, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrPoolClosed
	}
	return newDetector(p.opts, p.model)
}

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
