package decode

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/media"
)

// ReadPassthrough returns the next packet of the streams to copy, filtered and shifted as
// Options.OnPacket would get it, skipping video; io.EOF at the end of the input. A job whose video
// comes from elsewhere (segment files being joined) reads the input this way instead of with Read.
// end, when not 0, is the end of the video in its time base (a frame's PTS + duration, as
// Frame.PTS): packets from there on are not copied. The packet is the decoder's: use it before the
// next call.
func (d *Decoder) ReadPassthrough(end int64) (*astiav.Packet, error) {
	if end > 0 {
		d.limited = true
		d.endPTS = min(d.endPTS, end+d.startPTS[d.videoIndex])
	}
	for {
		d.pkt.Unref()
		if err := d.fc.ReadFrame(d.pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("decode: read %q: %w", d.opts.Input, err)
		}
		if d.pkt.StreamIndex() != d.videoIndex && d.accept(d.pkt) {
			return d.pkt, nil
		}
	}
}

// Packets reads the encoded packets of a file's video stream, as they are (a segment file being
// joined).
type Packets struct {
	name   string
	fc     *astiav.FormatContext
	vs     *astiav.Stream
	pkt    *astiav.Packet
	stream media.Stream
}

// OpenPackets opens a file to read its video stream's packets.
func OpenPackets(ctx context.Context, name string) (p *Packets, err error) {
	p = &Packets{name: name}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	if p.fc = astiav.AllocFormatContext(); p.fc == nil {
		return nil, errors.New("decode: cannot allocate format context")
	}
	if err := p.fc.OpenInput(name, nil, nil); err != nil {
		p.fc.Free()
		p.fc = nil
		return nil, fmt.Errorf("decode: open %q: %w", name, err)
	}
	if err := p.fc.FindStreamInfo(nil); err != nil {
		return nil, fmt.Errorf("decode: read stream info of %q: %w", name, err)
	}
	for _, s := range p.fc.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			p.vs = s
			break
		}
	}
	if p.vs == nil {
		return nil, fmt.Errorf("decode: %q: %w", name, ErrNoVideo)
	}
	p.stream = describeStream(p.vs)
	p.pkt = astiav.AllocPacket()
	return p, ctx.Err()
}

// Stream describes the video stream; its CodecParameters are valid until Close.
func (p *Packets) Stream() media.Stream { return p.stream }

// Next returns the next video packet, in Stream().TimeBase, or io.EOF. The packet is the reader's:
// use it before the next call.
func (p *Packets) Next() (*astiav.Packet, error) {
	for {
		p.pkt.Unref()
		if err := p.fc.ReadFrame(p.pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("decode: read %q: %w", p.name, err)
		}
		if p.pkt.StreamIndex() == p.vs.Index() {
			return p.pkt, nil
		}
	}
}

// Close frees the reader. It is nil-safe.
func (p *Packets) Close() {
	if p == nil {
		return
	}
	if p.pkt != nil {
		p.pkt.Free()
		p.pkt = nil
	}
	if p.fc != nil {
		p.fc.CloseInput()
		p.fc.Free()
		p.fc = nil
	}
}
