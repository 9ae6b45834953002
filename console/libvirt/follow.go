package libvirt

import (
	"context"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// Follow has fn called for a domain latchkey created for one of
// product's instances at each lifecycle event of its host, and for every
// such domain at each poll (Config.Poll), which backs the events up (a
// broken connection, a missed event). running reports whether the domain
// runs at the moment it is called: fn calls it once it holds whatever
// keeps latchkey's own calls on the instance out, so that a state seen
// before such a call cannot undo it. fn must be idempotent and cheap when
// nothing changed. Call Follow before Run.
func (d *Driver) Follow(product string, fn func(ctx context.Context, id string, running func() (bool, error))) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.follow[product] = fn
}

// Run follows every host until Close.
func (d *Driver) Run() {
	for _, h := range d.hosts {
		d.wg.Go(func() { d.watch(h) })
	}
}

// watch follows one host: its lifecycle events while connected, and a
// poll every Config.Poll.
func (d *Driver) watch(h *host) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-d.stop; cancel() }()
	tick := time.NewTicker(d.cfg.Poll)
	defer tick.Stop()
	var events <-chan golibvirt.DomainEventLifecycleMsg
	for {
		if events == nil {
			if l, err := h.client(); err == nil {
				events, _ = l.LifecycleEvents(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			switch golibvirt.DomainEventType(ev.Event) {
			case golibvirt.DomainEventStarted, golibvirt.DomainEventResumed, golibvirt.DomainEventStopped:
				d.report(ctx, h, ev.Dom.Name)
			}
		case <-tick.C:
			d.poll(ctx, h)
		}
	}
}

// poll reports the state of every domain latchkey created on h.
func (d *Driver) poll(ctx context.Context, h *host) {
	l, err := h.client()
	if err != nil {
		return
	}
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return
	}
	for _, dom := range doms {
		d.report(ctx, h, dom.Name)
	}
}

// report passes a domain of h to its product's follower, if the domain
// is one latchkey created.
func (d *Driver) report(ctx context.Context, h *host, name string) {
	rest, ok := strings.CutPrefix(name, domainPrefix)
	if !ok {
		return
	}
	product, id, ok := strings.Cut(rest, "-")
	if !ok {
		return
	}
	d.mu.Lock()
	fn := d.follow[product]
	d.mu.Unlock()
	if fn == nil {
		return
	}
	fn(ctx, id, func() (bool, error) {
		l, err := h.client()
		if err != nil {
			return false, err
		}
		dom, err := l.DomainLookupByName(name)
		if err != nil {
			return false, err
		}
		n, err := l.DomainIsActive(dom)
		return n == 1, err
	})
}
