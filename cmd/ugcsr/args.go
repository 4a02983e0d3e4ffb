package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs lets options follow the output name, as ffmpeg allows (urfave/cli stops at the first
// positional argument), and turns a -f given before -i into the input format.
func reorderArgs(args []string, app *cli.App) []string {
	if len(args) < 2 {
		return args
	}
	for _, c := range app.Commands {
		if args[1] == c.Name || contains(c.Aliases, args[1]) {
			return args
		}
	}
	takesValue := map[string]bool{}
	for _, f := range app.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, positional []string
	seenInput, dashDash := false, false
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "-" || !strings.HasPrefix(a, "-") {
			positional = append(positional, a)
			continue
		}
		if a == "--" {
			// Everything after is positional, and stays so: the "--" goes before the positional
			// arguments, or a name such as -x.mp4 after it would be parsed as a flag.
			dashDash = true
			positional = append(positional, args[i+1:]...)
			break
		}
		name := strings.TrimLeft(a, "-")
		if j := strings.IndexByte(name, '='); j >= 0 {
			name = name[:j]
			flags = append(flags, a)
			continue
		}
		if name == "i" {
			seenInput = true
		}
		if name == "f" && !seenInput {
			a, name = "--input-format", "input-format"
		}
		flags = append(flags, a)
		if takesValue[name] && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	out := append([]string{args[0]}, flags...)
	if dashDash {
		out = append(out, "--")
	}
	return append(out, positional...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
