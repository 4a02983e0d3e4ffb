#!/usr/bin/python3
"""Pillow's own resizes of float ("F" mode) images: the expected values of sr/resample's
TestPillow. Run from this directory with Debian 12's python3-pil (Pillow 9.4.0):

    /usr/bin/python3 gen.py

It writes, here:
  src-WxH.f32                 the inputs: W*H little-endian float32, row-major, values in [0,1)
                              from Python's random.Random (Mersenne Twister, seeded, so stable)
  FILTER-WxH-OWxOH.f32        Image.resize((OW, OH), FILTER) of src-WxH, same layout
  cases.txt                   one line per resize: filter in_w in_h out_w out_h file

Pillow resamples "F" images in double precision with no rounding or clamping (float32 only
between its horizontal and vertical passes): pixel centres at i+0.5, support scaled by the
shrink factor, Lanczos a = 3, BICUBIC a = -0.5, BOX = the area filter.
"""
import random
import struct

import PIL
from PIL import Image

FILTERS = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC,
           "area": Image.Resampling.BOX}

# (input size, output sizes): integer and non-integer ratios, odd sizes, up in one axis and
# down in the other, an axis left alone, strong shrinks (kernels longer than 16 taps).
CASES = [
    ((23, 17), [(46, 34), (69, 51), (92, 68), (50, 31), (23, 40), (37, 17)]),
    ((61, 47), [(30, 23), (17, 13), (45, 40), (7, 5), (80, 20), (3, 2)]),
]


def source(w, h, seed):
    r = random.Random(seed)
    return [r.random() for _ in range(w * h)]


def write_f32(name, values):
    with open(name, "wb") as f:
        f.write(struct.pack("<%df" % len(values), *values))


def main():
    lines = ["# Pillow %s: filter in_w in_h out_w out_h file" % PIL.__version__]
    for i, ((w, h), outs) in enumerate(CASES):
        name = "src-%dx%d.f32" % (w, h)
        write_f32(name, source(w, h, seed=i + 1))
        with open(name, "rb") as f:  # exactly the float32 values the Go test reads
            img = Image.new("F", (w, h))
            img.putdata(struct.unpack("<%df" % (w * h), f.read()))
        for fname, flt in FILTERS.items():
            for ow, oh in outs:
                out = img.resize((ow, oh), flt)
                oname = "%s-%dx%d-%dx%d.f32" % (fname, w, h, ow, oh)
                write_f32(oname, list(out.getdata()))
                lines.append("%s %d %d %d %d %s" % (fname, w, h, ow, oh, oname))
    with open("cases.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
