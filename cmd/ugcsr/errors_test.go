package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// TestLibraryErrorsSpeakNoCLI: no error text built outside cmd/ names a command-line flag or a
// setup script; the CLI adds those hints (flagHint), so library users are not told to pass flags
// they do not have.
func TestLibraryErrorsSpeakNoCLI(t *testing.T) {
	root := mediatest.RepoRoot(t)
	flag := regexp.MustCompile(`(^|[\s(])(--[a-z]|-y\b|-n\b|scripts/)`)
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && (rel == "cmd" || rel == "tools" || strings.HasPrefix(d.Name(), ".")) && rel != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok || !(pkg.Name == "errors" && sel.Sel.Name == "New" || pkg.Name == "fmt" && sel.Sel.Name == "Errorf") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			checked++
			if flag.MatchString(s) {
				t.Errorf("%s: library error names a flag or script: %q", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d error strings found: the walk is broken", checked)
	}
}

// TestFlagHints: the CLI adds the hint a library error leaves out.
func TestFlagHints(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.png")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=32x32", "-frames:v", "1", in)
	_, stderr, code := ugcsr(t, nil, "-i", in, "--ort-lib", filepath.Join(dir, "none.so"), filepath.Join(dir, "out.png"))
	if code != 1 || !strings.Contains(stderr, "library not found") || !strings.Contains(stderr, "(run scripts/setup.sh or pass --ort-lib)") {
		t.Errorf("missing runtime: exit %d, %q", code, stderr)
	}
	out := filepath.Join(dir, "exists.png")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=32x32", "-frames:v", "1", out)
	_, stderr, code = ugcsr(t, nil, "-i", in, "--model", "lanczos", out)
	if code != 1 || !strings.Contains(stderr, "(use -y to overwrite)") {
		t.Errorf("existing output: exit %d, %q", code, stderr)
	}
}
