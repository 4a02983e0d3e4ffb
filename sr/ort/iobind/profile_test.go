package iobind

import (
	"strings"
	"testing"
)

// profileSnippet is an ONNX Runtime 1.30 CPU profile of two runs of a two-node graph (recorded,
// args shortened), with the events of a CUDA run added in the same format: an input copied in by
// a MemcpyFromHost node, a result copied out by MemcpyToHost, and the fence events older releases
// write around every node (which carry the op but are not executions).
const profileSnippet = `[
{"cat" : "Session","pid" :1932,"tid" :1932,"dur" :174,"ts" :4,"ph" : "X","name" :"model_loading_array","args" : {}},
{"cat" : "Session","pid" :1932,"tid" :1932,"dur" :705,"ts" :230,"ph" : "X","name" :"session_initialization","args" : {}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :103,"ts" :1091,"ph" : "X","name" :"Add_0_kernel_time","args" : {"output_type_shape" : [{"float":[2,4]}],"activation_size" : "64","node_index" : "0","op_name" : "Add","thread_scheduling_stats" : {"main_thread": {"thread_pool_name": "session-2-intra-op", "block_size": [], "core": -1}},"provider" : "CPUExecutionProvider"}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :24,"ts" :1205,"ph" : "X","name" :"Mul_1_kernel_time","args" : {"provider" : "CPUExecutionProvider","op_name" : "Mul","output_size" : "32","node_index" : "1"}},
{"cat" : "Session","pid" :1932,"tid" :1932,"dur" :150,"ts" :1088,"ph" : "X","name" :"SequentialExecutor::Execute","args" : {}},
{"cat" : "Session","pid" :1932,"tid" :1932,"dur" :10638,"ts" :1072,"ph" : "X","name" :"model_run","args" : {}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :52,"ts" :11780,"ph" : "X","name" :"Add_0_kernel_time","args" : {"op_name" : "Add","node_index" : "0","provider" : "CPUExecutionProvider"}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :9,"ts" :11840,"ph" : "X","name" :"Mul_1_kernel_time","args" : {"op_name" : "Mul","node_index" : "1","provider" : "CPUExecutionProvider"}},
{"cat" : "Session","pid" :1932,"tid" :1932,"dur" :80,"ts" :11770,"ph" : "X","name" :"model_run","args" : {}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :0,"ts" :12000,"ph" : "X","name" :"Memcpy_fence_before","args" : {"op_name" : "MemcpyFromHost"}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :11,"ts" :12001,"ph" : "X","name" :"Memcpy_kernel_time","args" : {"op_name" : "MemcpyFromHost","provider" : "CUDAExecutionProvider"}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :0,"ts" :12013,"ph" : "X","name" :"Memcpy_fence_after","args" : {"op_name" : "MemcpyFromHost"}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :7,"ts" :12020,"ph" : "X","name" :"Add_0_kernel_time","args" : {"op_name" : "Add","provider" : "CUDAExecutionProvider"}},
{"cat" : "Node","pid" :1932,"tid" :1932,"dur" :5,"ts" :12030,"ph" : "X","name" :"Memcpy_token_1_kernel_time","args" : {"op_name" : "MemcpyToHost","provider" : "CUDAExecutionProvider"}},
{"cat" : "Session","pid" :1932,"tid" :1932,"dur" :60,"ts" :11990,"ph" : "X","name" :"model_run","args" : {}}
]`

func TestReadProfile(t *testing.T) {
	p, err := ReadProfile(strings.NewReader(profileSnippet))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v, providers %v", p, p.Providers)
	if p.Runs != 3 || p.Nodes != 7 || p.CopyNodes() != 2 || p.Copies["MemcpyFromHost"] != 1 || p.Copies["MemcpyToHost"] != 1 {
		t.Errorf("got %v, want 3 runs, 7 node executions, one MemcpyFromHost and one MemcpyToHost", p)
	}
	if p.Providers["CUDAExecutionProvider"] != 3 || p.Providers["CPUExecutionProvider"] != 4 {
		t.Errorf("providers %v", p.Providers)
	}
	if _, err := ReadProfile(strings.NewReader(profileSnippet[:200])); err == nil {
		t.Errorf("a truncated profile was read")
	}
}
