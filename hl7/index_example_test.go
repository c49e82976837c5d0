package hl7_test

import (
	"fmt"

	"github.com/iisproject/iis/hl7"
)

// An Index of a segment reads any of its values in constant time.
func ExampleIndex() {
	m, err := hl7.Parse([]byte("MSH|^~\\&|EHR\rPID|1||123^^^MRN~456^^^SSN||Doe^Jane^Q"))
	if err != nil {
		panic(err)
	}
	pid, _ := m.Segment("PID", 1)
	var x hl7.Index
	x.Build(pid)
	fmt.Println(x.NumFields(), x.NumReps(3), x.Comp(3, 2, 4), x.Comp(5, 0, 2))
	for r := 1; r <= x.NumReps(3); r++ {
		fmt.Println(x.Comp(3, r, 1), x.Comp(3, r, 4))
	}
	// Output:
	// 5 2 SSN Jane
	// 123 MRN
	// 456 SSN
}
