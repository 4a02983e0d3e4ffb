package mediatest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// GoldenEntry is one [section] of shared/golden/MANIFEST.txt.
type GoldenEntry struct {
	Name    string // the section title
	LR, X4  string // file names
	CPUFP32 string // file name of the CPU fp32 reference ("" if none)
	Model   string
	Tile    int
}

// ParseManifest reads the entries of a golden MANIFEST.txt: sections "[title]" followed by
// "key: value" lines, of which lr_file, x4_file, model, tile and cpufp32_ref are used.
func ParseManifest(path string) ([]GoldenEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var entries []GoldenEntry
	var cur *GoldenEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		raw := sc.Text()
		text := strings.TrimSpace(raw)
		// A section title starts the line and has no spaces (header lines quote "[0 llvmpipe ...]").
		if strings.HasPrefix(raw, "[") && strings.HasSuffix(text, "]") && !strings.ContainsAny(text, " \t") {
			entries = append(entries, GoldenEntry{Name: strings.Trim(text, "[]")})
			cur = &entries[len(entries)-1]
			continue
		}
		key, val, ok := strings.Cut(text, ":")
		if cur == nil || !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		switch strings.TrimSpace(key) {
		case "lr_file":
			cur.LR = fields[0]
		case "x4_file":
			cur.X4 = fields[0]
		case "cpufp32_ref":
			cur.CPUFP32 = fields[0]
		case "model":
			cur.Model = fields[0]
		case "tile":
			if fields[0] != "-t" || len(fields) < 2 {
				return nil, fmt.Errorf("%s:%d: tile %q: want \"-t N ...\"", path, line, val)
			}
			if cur.Tile, err = strconv.Atoi(fields[1]); err != nil {
				return nil, fmt.Errorf("%s:%d: tile: %v", path, line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.LR == "" || e.X4 == "" || e.Model == "" || e.Tile <= 0 {
			return nil, fmt.Errorf("%s: entry [%s] lacks lr_file, x4_file, model or tile", path, e.Name)
		}
	}
	return entries, nil
}
