package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/internal/av"
	"github.com/ugcsr/ugcsr/sr/ort"
)

func probeCommand() *cli.Command {
	var devices bool
	var tryDevice, ortLib string
	return &cli.Command{
		Name:      "probe",
		Usage:     "describe a file's video stream and the streams that would be copied; with --devices, which devices work",
		ArgsUsage: "FILE | --devices",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "devices", Usage: "say which ONNX Runtime devices work here and, for each that does not, what is missing", Destination: &devices},
			&cli.StringFlag{Name: "ort-lib", EnvVars: []string{"UGCSR_ORT_LIB"}, Usage: "path of libonnxruntime.so (default: the build setup caches for each device)", Destination: &ortLib},
			// One device, in a process of its own: a process can hold only one ONNX Runtime.
			&cli.StringFlag{Name: "try-device", Hidden: true, Destination: &tryDevice},
		},
		Action: func(c *cli.Context) error {
			switch {
			case tryDevice != "":
				return tryDeviceLine(c, tryDevice, ortLib)
			case devices:
				if c.NArg() != 0 {
					return usageError{"probe --devices takes no file"}
				}
				return probeDevices(c, ortLib)
			case c.NArg() != 1:
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
			space, rng, prim, trc := av.ColorNames(v.Color)
			fmt.Fprintf(w, "colour:   space %s, range %s, primaries %s, transfer %s (as ffprobe names them)\n", space, rng, prim, trc)
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

// probeDevices prints one line per device (cpu, cuda, tensorrt): "ok" with the ONNX Runtime that
// served it, or "no" with what is missing. Each device is tried by a child process
// (probe --try-device), which loads the library that device would use.
func probeDevices(c *cli.Context, ortLib string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	w := os.Stdout
	for _, dev := range []ort.Device{ort.DeviceCPU, ort.DeviceCUDA, ort.DeviceTensorRT} {
		args := []string{"probe", "--try-device", dev.String()}
		if ortLib != "" {
			args = append(args, "--ort-lib", ortLib)
		}
		cmd := exec.CommandContext(c.Context, exe, args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		runErr := cmd.Run()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if lines[0] == "" {
			why := oneLine(strings.TrimSpace(errOut.String()))
			if why == "" {
				why = fmt.Sprint(runErr)
			}
			lines = []string{"no\t" + why}
		}
		status, detail, _ := strings.Cut(lines[0], "\t")
		fmt.Fprintf(w, "%-9s %-3s %s\n", dev.String()+":", status, detail)
		if len(lines) > 1 && status != "ok" {
			_, with, _ := strings.Cut(lines[1], "\t")
			fmt.Fprintf(w, "%13s (tried with %s)\n", "", with)
		}
	}
	cache := appcache.Dir()
	auto, err := ort.LibraryFor(ortLib, cache, ort.DeviceAuto)
	if err != nil {
		auto = fmt.Sprint(err)
	}
	seen := "no NVIDIA GPU seen"
	if ort.GPUPresent() {
		seen = "an NVIDIA GPU is present"
	}
	fmt.Fprintf(w, "auto:     %s (%s)\n", auto, seen)
	fmt.Fprintf(w, "CUDA libraries: looked for in %s, then by the dynamic loader\n", strings.Join(ort.CUDASearchDirs(), ", "))
	return nil
}

// tryDeviceLine is the child of probeDevices: it loads the library for dev and tries dev, printing
// "ok<TAB>ONNX Runtime VERSION, LIBRARY" or "no<TAB>what is missing" on stdout, the latter followed
// by "lib<TAB>ONNX Runtime VERSION, LIBRARY" when a library was loaded.
func tryDeviceLine(c *cli.Context, name, ortLib string) error {
	dev, err := ort.ParseDevice(name)
	if err != nil {
		return usageError{"--try-device: " + err.Error()}
	}
	rt := ort.Runtime{Device: dev, Library: ortLib}
	rt.Init()
	if err = rt.Load(); err == nil {
		err = ort.TryDevice(c.Context, dev)
	}
	if err != nil {
		var me *ort.MissingError
		msg := oneLine(err.Error()) + flagHint(err)
		if errors.As(err, &me) {
			msg = me.Error()
		}
		fmt.Printf("no\t%s\n", msg)
		if ort.Loaded() != "" {
			fmt.Printf("lib\tONNX Runtime %s, %s\n", ort.Version(), ort.Loaded())
		}
		return nil
	}
	fmt.Printf("ok\tONNX Runtime %s, %s\n", ort.Version(), ort.Loaded())
	return nil
}
