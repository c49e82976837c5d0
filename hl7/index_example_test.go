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

// Repetitions reads every value of a segment in order: one call of the
// loop's body for each repetition that is not empty, its components read
// inline.
func ExampleIndex_Repetitions() {
	m, err := hl7.Parse([]byte("MSH|^~\\&|EHR\rPID|1||123^^^MRN~456^^^SSN||Doe^Jane^Q"))
	if err != nil {
		panic(err)
	}
	pid, _ := m.Segment("PID", 1)
	var x hl7.Index
	x.Build(pid)
	for rep := range x.Repetitions() {
		p := rep.Position()
		for c, v := range rep.Comps() {
			if !v.IsEmpty() {
				fmt.Printf("PID-%d(%d).%d=%s ", p.Field, p.Rep, c, v)
			}
		}
	}
	fmt.Println()
	// Output:
	// PID-1(1).1=1 PID-3(1).1=123 PID-3(1).4=MRN PID-3(2).1=456 PID-3(2).4=SSN PID-5(1).1=Doe PID-5(1).2=Jane PID-5(1).3=Q
}
