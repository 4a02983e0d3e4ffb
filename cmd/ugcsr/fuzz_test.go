package main

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The command line's own parsers, fuzzed (make fuzz), seeded from what users type and from the
// hostile cases' values.

var timeSeeds = []string{"12.5", "0", "01:02", "1:02:03.5", "NaN", "Inf", "-1", "1e300", "::", "00:00:00.000001", "99999999999"}

func FuzzParseTime(f *testing.F) {
	for _, s := range timeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseTime(s)
		if err != nil {
			return
		}
		if d < 0 || d > time.Duration(maxSeconds*float64(time.Second)) {
			t.Fatalf("parseTime(%q) = %v: out of range", s, d)
		}
		// Seconds written out again parse to the same time, within the float's rounding.
		again, err := parseTime(strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
		if err != nil || math.Abs(float64(again-d)) > 1e-6*float64(d)+1000 {
			t.Fatalf("parseTime(%q) = %v, but its seconds parse to %v, %v", s, d, again, err)
		}
	})
}

func FuzzParseScaleFilter(f *testing.F) {
	for _, s := range []string{"scale=1920:-2", "1280x720", "scale=w=640:h=-1", "scale=100000:-1", "0:0", "-3:10", "a:b", "scale=::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseScaleFilter(s)
		if err != nil {
			return
		}
		ok := func(v int) bool { return v == -1 || v == -2 || v > 0 && v <= maxSide }
		if !ok(p.X) || !ok(p.Y) || p.X < 0 && p.Y < 0 {
			t.Fatalf("parseScaleFilter(%q) = %v", s, p)
		}
	})
}

func FuzzParseBitrate(f *testing.F) {
	for _, s := range []string{"8M", "800k", "800K", "8000000", "NaN", "InfM", "-1k", "0", "1e13", "0.0001k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseBitrate(s)
		if err == nil && !(v >= 1 && v <= 1e12) {
			t.Fatalf("parseBitrate(%q) = %d", s, v)
		}
	})
}

// FuzzReorderArgs: options may follow the output; whatever the words, reordering keeps every one
// of them (a -f before -i becomes --input-format) and never panics.
func FuzzReorderArgs(f *testing.F) {
	for _, s := range []string{"-i in.mp4 out.mp4 -y", "-f nut -i - -s 2 -f nut -", "-- -i", "-i", "-crf", "-x=1 -y out"} {
		f.Add(s)
	}
	app := newApp(nil)
	f.Fuzz(func(t *testing.T, s string) {
		args := append([]string{"ugcsr"}, strings.Fields(s)...)
		out := reorderArgs(args, app)
		count := func(list []string) map[string]int {
			m := map[string]int{}
			for _, a := range list {
				if a == "--input-format" || (strings.HasPrefix(a, "-") && strings.TrimLeft(a, "-") == "f") {
					a = "-f" // -f and --f before -i both become --input-format
				}
				m[a]++
			}
			return m
		}
		in, got := count(args), count(out)
		for k, n := range in {
			if k != "-f" && k != "--input-format" && got[k] != n {
				t.Fatalf("reorderArgs(%q) = %q: %q appears %d times, not %d", args, out, k, got[k], n)
			}
		}
		if in["-f"]+in["--input-format"] != got["-f"] || len(out) != len(args) {
			t.Fatalf("reorderArgs(%q) = %q", args, out)
		}
	})
}

func FuzzParseLogLevel(f *testing.F) {
	for _, s := range []string{"quiet", "error", "warning", "info", "verbose", "debug", "", "INFO"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLogLevel(s)
		if err == nil && (l < levelQuiet || l > levelDebug) {
			t.Fatalf("parseLogLevel(%q) = %d", s, l)
		}
	})
}
