package main

import (
	"fmt"
	"io"
)

func runSynth(n int, seed int64, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "matcheval: -synth not implemented yet")
	return 2
}
