package iobind

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Profile is what ReadProfile finds in an ONNX Runtime profile: the runs and the nodes executed,
// and the copy nodes ONNX Runtime inserted between providers.
type Profile struct {
	// Runs counts the session's runs ("model_run" events).
	Runs int
	// Nodes counts node executions ("<node>_kernel_time" events).
	Nodes int
	// Copies counts executions of the copy nodes ONNX Runtime inserts where data changes device
	// (op MemcpyToHost or MemcpyFromHost), by op.
	Copies map[string]int
	// Providers counts node executions by execution provider.
	Providers map[string]int
}

// CopyNodes returns the number of copy-node executions.
func (p Profile) CopyNodes() int {
	n := 0
	for _, c := range p.Copies {
		n += c
	}
	return n
}

func (p Profile) String() string {
	var cs []string
	for op, n := range p.Copies {
		cs = append(cs, fmt.Sprintf("%s %d", op, n))
	}
	sort.Strings(cs)
	return fmt.Sprintf("%d runs, %d node executions, copy nodes: [%s]", p.Runs, p.Nodes, strings.Join(cs, ", "))
}

// event is one entry of the profile (Chrome trace format): cat Session or Node, a name, and for a
// node its op and provider.
type event struct {
	Cat  string `json:"cat"`
	Name string `json:"name"`
	Args struct {
		Op       string `json:"op_name"`
		Provider string `json:"provider"`
	} `json:"args"`
}

// ReadProfile parses an ONNX Runtime profile (the JSON array EndProfiling writes). A node's
// execution appears as three events, _fence_before, _kernel_time and _fence_after; only
// _kernel_time is counted.
func ReadProfile(r io.Reader) (Profile, error) {
	var evs []event
	if err := json.NewDecoder(r).Decode(&evs); err != nil {
		return Profile{}, fmt.Errorf("iobind: profile: %w", err)
	}
	p := Profile{Copies: map[string]int{}, Providers: map[string]int{}}
	for _, e := range evs {
		switch {
		case e.Cat == "Session" && e.Name == "model_run":
			p.Runs++
		case e.Cat == "Node" && strings.HasSuffix(e.Name, "_kernel_time"):
			p.Nodes++
			if e.Args.Provider != "" {
				p.Providers[e.Args.Provider]++
			}
			if strings.HasPrefix(e.Args.Op, "Memcpy") {
				p.Copies[e.Args.Op]++
			}
		}
	}
	return p, nil
}

// ReadProfileFile is ReadProfile of a file.
func ReadProfileFile(path string) (Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return Profile{}, fmt.Errorf("iobind: profile: %w", err)
	}
	defer f.Close()
	return ReadProfile(f)
}
