package quality

// SSIM of two 8-bit planes the way FFmpeg's ssim filter (libavfilter/vf_ssim.c, from x264) computes
// it: sums over 4x4 blocks, combined into 8x8 windows every 4 pixels, integer constants
// C1 = .01²·255²·64 and C2 = .03²·255²·64·63, the mean over the ((w/4)-1)·((h/4)-1) windows.
// Planes smaller than 8x8 have no window: the result is NaN.
func ssimPlane(a, b []uint8, w, h int) float64 {
	const (
		c1 = 416    // (int)(.01*.01*255*255*64 + .5)
		c2 = 235963 // (int)(.03*.03*255*255*64*63 + .5)
	)
	bw, bh := w>>2, h>>2
	if bw < 2 || bh < 2 {
		return nan
	}
	// sums[y][x] = s1, s2, ss, s12 of the 4x4 block at (4x, 4y).
	sums := make([][4]int64, bw*bh)
	for by := range bh {
		for bx := range bw {
			var s1, s2, ss, s12 int64
			for y := 4 * by; y < 4*by+4; y++ {
				for x := 4 * bx; x < 4*bx+4; x++ {
					p, q := int64(a[y*w+x]), int64(b[y*w+x])
					s1 += p
					s2 += q
					ss += p*p + q*q
					s12 += p * q
				}
			}
			sums[by*bw+bx] = [4]int64{s1, s2, ss, s12}
		}
	}
	var total float64
	for by := 0; by < bh-1; by++ {
		for bx := 0; bx < bw-1; bx++ {
			var s [4]int64
			for _, k := range []int{by*bw + bx, by*bw + bx + 1, (by+1)*bw + bx, (by+1)*bw + bx + 1} {
				for j := range s {
					s[j] += sums[k][j]
				}
			}
			s1, s2, ss, s12 := s[0], s[1], s[2], s[3]
			vars := ss*64 - s1*s1 - s2*s2
			covar := s12*64 - s1*s2
			total += float64(2*s1*s2+c1) * float64(2*covar+c2) / (float64(s1*s1+s2*s2+c1) * float64(vars+c2))
		}
	}
	return total / float64((bw-1)*(bh-1))
}
