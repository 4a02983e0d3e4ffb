package preview

import (
	"bytes"
	"image"
	"image/jpeg"

	"github.com/ugcsr/ugcsr/frame"
)

// encoder turns frames into JPEGs, reusing its buffers; it belongs to the encoding goroutine.
type encoder struct {
	rgba *image.RGBA
	buf  bytes.Buffer
}

// jpeg encodes f at quality 90. The bytes returned are the caller's.
func (e *encoder) jpeg(f *frame.Frame) []byte {
	if e.rgba == nil || e.rgba.Rect.Dx() != f.W || e.rgba.Rect.Dy() != f.H {
		e.rgba = image.NewRGBA(image.Rect(0, 0, f.W, f.H))
	}
	n := f.W * f.H
	r, g, b := f.Plane(0), f.Plane(1), f.Plane(2)
	pix := e.rgba.Pix
	for i := 0; i < n; i++ {
		p := pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = frame.To8(r[i]), frame.To8(g[i]), frame.To8(b[i]), 255
	}
	e.buf.Reset()
	jpeg.Encode(&e.buf, e.rgba, &jpeg.Options{Quality: 90}) // writes to memory: cannot fail
	return bytes.Clone(e.buf.Bytes())
}
