package decode

import (
	"bufio"
	"errors"
	"io"
)

// tsLoss counts MPEG-TS packets missing from a transport stream by their continuity counters, which
// FFmpeg's demuxer checks too but reports only in its log (the corrupt flag it sets does not
// survive its parser). Each PID's 4-bit counter goes up by one per packet with payload; a jump
// means (jump-1) mod 16 packets or more were lost, a repeat once is a legal duplicate, and a
// discontinuity indicator resets it. Bytes skipped to find the next sync byte count as one loss
// per skipped run. Packets may be 188 bytes (.ts) or 192 (.m2ts, a 4-byte timestamp first).
type tsLoss struct {
	cc      map[uint16]uint8 // last counter per PID
	dup     map[uint16]bool  // the last packet of the PID was a duplicate
	lost    int64
	packets int64
}

// errNotTS is returned by scan when the data has no transport-stream sync pattern.
var errNotTS = errors.New("not an MPEG transport stream")

// scan reads r to its end, counting lost packets.
func (l *tsLoss) scan(r io.Reader) error {
	if l.cc == nil {
		l.cc, l.dup = map[uint16]uint8{}, map[uint16]bool{}
	}
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(192 * 3)
	if err != nil && len(head) < 192*2 {
		return errNotTS
	}
	size, skip := 0, 0
	switch {
	case head[0] == 0x47 && head[188] == 0x47:
		size = 188
	case len(head) >= 192*2+5 && head[4] == 0x47 && head[196] == 0x47:
		size, skip = 192, 4
	default:
		return errNotTS
	}
	for {
		pkt, err := br.Peek(size)
		if len(pkt) < size {
			if err == nil || errors.Is(err, io.EOF) {
				return nil // a last partial packet is the end of the stream
			}
			return err
		}
		if pkt[skip] != 0x47 {
			l.lost++ // lost sync: find the next sync byte
			br.Discard(1)
			if err := resync(br, skip); err != nil {
				return nil
			}
			continue
		}
		l.packet(pkt[skip:])
		br.Discard(size)
	}
}

// resync drops bytes until the next packet starts with a sync byte.
func resync(br *bufio.Reader, skip int) error {
	for {
		b, err := br.Peek(skip + 1)
		if err != nil {
			return err
		}
		if b[skip] == 0x47 {
			return nil
		}
		if _, err := br.Discard(1); err != nil {
			return err
		}
	}
}

// packet checks one 188-byte packet's continuity counter.
func (l *tsLoss) packet(p []byte) {
	l.packets++
	pid := uint16(p[1]&0x1f)<<8 | uint16(p[2])
	afc := p[3] >> 4 & 3
	cc := p[3] & 0x0f
	if pid == 0x1fff || afc&1 == 0 { // null packets and packets without payload carry no count
		return
	}
	if afc&2 != 0 && p[4] > 0 && p[5]&0x80 != 0 { // discontinuity indicator: the counter restarts
		delete(l.cc, pid)
	}
	last, seen := l.cc[pid]
	l.cc[pid] = cc
	if !seen {
		return
	}
	switch want := (last + 1) & 0x0f; {
	case cc == want:
		l.dup[pid] = false
	case cc == last && !l.dup[pid]:
		l.dup[pid] = true
	default:
		l.lost += int64((cc - want) & 0x0f) // at least this many; 16 more would look the same
		if cc == last {
			l.lost++ // a second repeat
		}
	}
}
