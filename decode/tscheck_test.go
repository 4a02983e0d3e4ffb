package decode

import (
	"bytes"
	"testing"
)

// tsPkt describes one transport-stream packet for tsCases.
type tsPkt struct {
	pid     uint16
	cc      uint8
	payload bool // else adaptation field only
	disc    bool // discontinuity indicator
}

func (p tsPkt) bytes(size int) []byte {
	b := make([]byte, size)
	h := b[size-188:]
	h[0] = 0x47
	h[1], h[2] = byte(p.pid>>8)&0x1f, byte(p.pid)
	afc := byte(1)
	if !p.payload {
		afc = 2
	}
	if p.disc {
		afc |= 2
		h[4], h[5] = 1, 0x80
	}
	h[3] = afc<<4 | p.cc&0x0f
	return b
}

// run counts 0..n-1 for one PID.
func run(pid uint16, from, n int) []tsPkt {
	var ps []tsPkt
	for i := from; i < from+n; i++ {
		ps = append(ps, tsPkt{pid: pid, cc: uint8(i), payload: true})
	}
	return ps
}

func cat(parts ...[]tsPkt) []tsPkt {
	var all []tsPkt
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// The lost counts are worked out by hand from the counters.
var tsCases = []struct {
	name string
	pkts []tsPkt
	lost int64
}{
	{"intact", run(256, 0, 40), 0},
	{"one lost", cat(run(256, 0, 5), run(256, 6, 5)), 1},
	{"three lost across the wrap", cat(run(256, 0, 14), run(256, 17, 5)), 3},
	{"duplicate once is legal", cat(run(256, 0, 5), run(256, 4, 5)), 0},
	{"repeated twice", cat(run(256, 0, 5), run(256, 4, 1), run(256, 4, 1), run(256, 5, 2)), 16},
	{"two PIDs, loss in one", cat(run(256, 0, 3), run(257, 0, 3), run(256, 4, 3), run(257, 3, 3)), 1},
	{"adaptation-only packets do not count", cat(run(256, 0, 3), []tsPkt{{pid: 256, cc: 2}}, run(256, 3, 3)), 0},
	{"discontinuity indicator restarts", cat(run(256, 0, 3), []tsPkt{{pid: 256, cc: 9, payload: true, disc: true}}, run(256, 10, 3)), 0},
	{"null packets ignored", cat(run(256, 0, 3), run(0x1fff, 7, 1), run(256, 3, 3)), 0},
}

func tsBytes(pkts []tsPkt, size int) []byte {
	var b bytes.Buffer
	for _, p := range pkts {
		b.Write(p.bytes(size))
	}
	return b.Bytes()
}

func TestTSLoss(t *testing.T) {
	for _, c := range tsCases {
		for _, size := range []int{188, 192} {
			var l tsLoss
			if err := l.scan(bytes.NewReader(tsBytes(c.pkts, size))); err != nil {
				t.Fatalf("%s (%d-byte packets): %v", c.name, size, err)
			}
			if l.lost != c.lost || l.packets != int64(len(c.pkts)) {
				t.Errorf("%s (%d-byte packets): lost %d of %d packets, want %d of %d", c.name, size, l.lost, l.packets, c.lost, len(c.pkts))
			}
		}
	}
	var l tsLoss
	if err := l.scan(bytes.NewReader([]byte("not a transport stream at all, just text, long enough to look at....."))); err != errNotTS {
		t.Errorf("text: %v, want errNotTS", err)
	}
	// Garbage between packets: one loss of sync, then the counters go on.
	b := tsBytes(run(256, 0, 4), 188)
	b = append(b, []byte("junk")...)
	b = append(b, tsBytes(run(256, 4, 4), 188)...)
	l = tsLoss{}
	if err := l.scan(bytes.NewReader(b)); err != nil || l.lost != 1 || l.packets != 8 {
		t.Errorf("junk between packets: lost %d of %d packets, %v; want 1 of 8", l.lost, l.packets, err)
	}
}

func FuzzTSLoss(f *testing.F) {
	for _, c := range tsCases {
		f.Add(tsBytes(c.pkts, 188))
	}
	f.Add(tsBytes(run(256, 0, 4), 192))
	f.Fuzz(func(t *testing.T, b []byte) {
		var l tsLoss
		if err := l.scan(bytes.NewReader(b)); err != nil {
			return
		}
		if l.lost < 0 || l.packets < 0 || l.packets > int64(len(b)/188) {
			t.Fatalf("lost %d, packets %d from %d bytes", l.lost, l.packets, len(b))
		}
	})
}
