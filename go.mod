module github.com/ugcsr/ugcsr

go 1.22

require (
	github.com/asticode/go-astiav v0.16.0
	github.com/urfave/cli/v2 v2.27.5
	github.com/yalue/onnxruntime_go v1.27.0
	golang.org/x/sync v0.10.0
	google.golang.org/protobuf v1.36.1
)

require (
	github.com/asticode/go-astikit v0.42.0 // indirect
	github.com/cpuguy83/go-md2man/v2 v2.0.5 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/xrash/smetrics v0.0.0-20240521201337-686a1a2994c1 // indirect
)
