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
			v := i.Video
			w := os.Stdout
			fmt.Fprintf(w, "input:    %s (%s)\n", c.Args().First(), i.Format)
			fmt.Fprintf(w, "video:    #%d %s %dx%d %s, SAR %d:%d, %d/%d fps, time base %d/%d\n",
				v.Index, v.Codec, v.Width, v.Height, v.PixelFormat, v.SampleAspectRatio.Num, v.SampleAspectRatio.Den,
				v.FrameRate.Num, v.FrameRate.Den, v.TimeBase.Num, v.TimeBase.Den)
			fmt.Fprintf(w, "colour:   space %d, range %d, primaries %d, transfer %d (FFmpeg enum values)\n", v.Color.Space, v.Color.Range, v.Color.Primaries, v.Color.Transfer)
			if v.DisplayMatrix != nil {
				fmt.Fprintf(w, "rotation: %g degrees (kept as metadata)\n", v.Rotation)
			}
			fmt.Fprintf(w, "frames:   %d, duration %.3fs\n", v.Frames, v.Duration.Seconds())
			for _, s := range i.Passthrough {
				fmt.Fprintf(w, "copy:     #%d %s %s", s.Index, s.Type, s.Codec)
				if s.SampleRate > 0 {
					fmt.Fprintf(w, " %d Hz, %d channels", s.SampleRate, s.Channels)
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
}
