//go:build !wasip1

package main

import (
	"io"
	"os"
)

// Natively (go run / go test) the renderer reads one JSON Request on stdin and writes the Result.
func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		os.Exit(1)
	}
	os.Stdout.Write(RenderJSON(in))
}
