package preview

import "sync"

// kind is an event's name; kinds are sent in this order when several are pending.
type kind int

const (
	kindHello kind = iota
	kindFrames
	kindStats
	kindEnd
	numKinds
)

func (k kind) String() string { return [...]string{"hello", "frames", "stats", "end"}[k] }

type event struct {
	kind kind
	data []byte
}

// slot holds one subscriber's pending events: the latest of each kind, never a queue. set never
// blocks, whatever the subscriber is doing; a newer value replaces one not yet taken.
type slot struct {
	mu      sync.Mutex
	pending [numKinds][]byte
	notify  chan struct{} // holds a token while something is pending
}

func newSlot() *slot { return &slot{notify: make(chan struct{}, 1)} }

// set replaces the pending event of kind k.
func (s *slot) set(k kind, data []byte) {
	s.mu.Lock()
	s.pending[k] = data
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// take returns and clears the pending events, in kind order.
func (s *slot) take() []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var evs []event
	for k, data := range s.pending {
		if data != nil {
			evs = append(evs, event{kind(k), data})
			s.pending[k] = nil
		}
	}
	return evs
}
