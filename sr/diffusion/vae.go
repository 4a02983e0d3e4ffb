package diffusion

import "context"

// VAE tiling, in latent pixels. The seed method's tiled VAE splits the decoder above 246 latents
// (tile 224, padding 11: 1968 pixels) and the encoder above 1088 pixels, but computes GroupNorm
// statistics over the whole image, so its tiles reproduce the untiled result up to rounding. We
// cannot share those statistics between ONNX runs, so the closest match is not to tile: both the
// encoder and the decoder see the whole image up to 1968 pixels a side (a 1280x720 lr start is
// encoded in one run, as the reference's result is), and are split above that, into equal windows
// whose padded borders are computed and thrown away, without shared statistics (a departure,
// listed in the package doc).
const (
	decTile, decPad = 224, 11
	encTile, encPad = decTile, decPad
)

// window is one tile along an axis: the graph sees [lo, lo+size), of which [clo, chi) is kept.
type window struct {
	lo, size, clo, chi int
}

// windows splits an axis of n into windows of equal size with cores of at most tile and pad of
// context either side (less at the borders, where windows snap inside).
func windows(n, tile, pad int) []window {
	if n <= tile+2*pad {
		return []window{{0, n, 0, n}}
	}
	k := (n + tile - 1) / tile
	core := (n + k - 1) / k
	size := min(core+2*pad, n)
	out := make([]window, k)
	for i := range out {
		clo, chi := i*core, min((i+1)*core, n)
		lo := min(max(clo-pad, 0), n-size)
		out[i] = window{lo, size, clo, chi}
	}
	return out
}

// decode runs the VAE decoder on u.x / latent_scale and writes the image, mapped from [-1,1] to
// [0,1] and clamped, into u.img.
func (u *Upscaler) decode(ctx context.Context) error {
	C, h, w := u.c, u.h, u.w
	inv := float32(1 / u.b.m.LatentScale)
	W := 8 * w
	for _, wy := range windows(h, decTile, decPad) {
		for _, wx := range windows(w, decTile, decPad) {
			in, _, err := u.dec.in("latent", []int64{1, int64(C), int64(wy.size), int64(wx.size)}, nil)
			if err != nil {
				return err
			}
			crop(in.f32, u.x, C, h, w, wy.lo, wx.lo, wy.size, wx.size)
			for i := range in.f32 {
				in.f32[i] *= inv
			}
			ph, pw := 8*wy.size, 8*wx.size
			out, err := u.dec.out("image", []int64{1, 3, int64(ph), int64(pw)})
			if err != nil {
				return err
			}
			if err := u.dec.run(ctx); err != nil {
				return err
			}
			for c := range 3 {
				plane := u.img.Plane(c)
				for y := 8 * wy.clo; y < 8*wy.chi; y++ {
					src := out.f32[(c*ph+y-8*wy.lo)*pw:][8*(wx.clo-wx.lo) : 8*(wx.chi-wx.lo)]
					dst := plane[y*W+8*wx.clo : y*W+8*wx.chi]
					for i, v := range src {
						v = v*0.5 + 0.5
						if v < 0 {
							v = 0
						} else if v > 1 {
							v = 1
						}
						dst[i] = v
					}
				}
			}
		}
	}
	return nil
}

// encode runs the VAE encoder on the condition image mapped to [-1,1] and writes the latent times
// latent_scale into z (C x h x w).
func (u *Upscaler) encode(ctx context.Context, z []float32) error {
	C, h, w := u.c, u.h, u.w
	scale := float32(u.b.m.LatentScale)
	H, W := 8*h, 8*w
	for _, wy := range windows(h, encTile, encPad) {
		for _, wx := range windows(w, encTile, encPad) {
			ph, pw := 8*wy.size, 8*wx.size
			in, _, err := u.enc.in("image", []int64{1, 3, int64(ph), int64(pw)}, nil)
			if err != nil {
				return err
			}
			crop(in.f32, u.cond.Pix, 3, H, W, 8*wy.lo, 8*wx.lo, ph, pw)
			for i, v := range in.f32 {
				in.f32[i] = 2*v - 1
			}
			out, err := u.enc.out("latent", []int64{1, int64(C), int64(wy.size), int64(wx.size)})
			if err != nil {
				return err
			}
			if err := u.enc.run(ctx); err != nil {
				return err
			}
			for c := range C {
				for y := wy.clo; y < wy.chi; y++ {
					src := out.f32[(c*wy.size+y-wy.lo)*wx.size:][wx.clo-wx.lo : wx.chi-wx.lo]
					dst := z[c*h*w+y*w+wx.clo : c*h*w+y*w+wx.chi]
					for i, v := range src {
						dst[i] = v * scale
					}
				}
			}
		}
	}
	return nil
}
