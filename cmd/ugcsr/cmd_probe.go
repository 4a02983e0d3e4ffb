package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/decode"
)

func probeCommand() *cli.Command {
	return &cli.Command{
		Name:      "probe",
		Usage:     "describe a file's video stream and the streams that would be copied",
		ArgsUsage: "FILE",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{"probe takes one file"}
			}
			d, err := decode.Open(c.Context, decode.Options{Input: c.Args().First()})
			if err != nil {
				return err
			}
			defer d.Close()
			i := d.Info()
			w := os.Stdout
			fmt.Fprintf(w, "input:    %s (%s)\n", c.Args().First(), i.Input.InputFormat().Name())
			fmt.Fprintf(w, "video:    #%d %s %dx%d %s, SAR %d:%d, %d/%d fps, time base %d/%d\n",
				i.VideoStream.Index(), i.Codec, i.Width, i.Height, i.PixelFormat, i.SampleAspectRatio.Num(), i.SampleAspectRatio.Den(),
				i.FrameRate.Num(), i.FrameRate.Den(), i.TimeBase.Num(), i.TimeBase.Den())
			fmt.Fprintf(w, "colour:   space %d, range %d, primaries %d, transfer %d (FFmpeg enum values)\n", i.ColorSpace, i.ColorRange, i.ColorPrimaries, i.ColorTRC)
			if i.DisplayMatrix != nil {
				fmt.Fprintf(w, "rotation: %g degrees (kept as metadata)\n", i.Rotation)
			}
			fmt.Fprintf(w, "frames:   %d, duration %.3fs\n", i.Frames, i.Duration.Seconds())
			for _, s := range i.Passthrough {
				cp := s.CodecParameters()
				fmt.Fprintf(w, "copy:     #%d %s %s", s.Index(), cp.MediaType(), cp.CodecID())
				if cp.SampleRate() > 0 {
					fmt.Fprintf(w, " %d Hz, %d channels", cp.SampleRate(), cp.Channels())
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
}
