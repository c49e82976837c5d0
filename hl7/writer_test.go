package hl7

import "testing"

// TestFragment: a fragment written by a Writer is the same bytes as the
// fields written one by one, escapes included, and is re-encoded for a
// writer with other delimiters.
func TestFragment(t *testing.T) {
	build := func(w *Writer) {
		w.Fields("CE")
		w.Field("30956-7", "Vaccine type^group", "LN")
		w.Fields("", "F", "")
	}
	other := Delimiters{Field: '#', Component: '$', Repetition: '*', Escape: '@', Subcomponent: '!'}
	tests := []struct {
		name string
		d    Delimiters
		want string
	}{
		{"same delimiters", DefaultDelimiters, "OBX|1|CE|30956-7^Vaccine type\\S\\group^LN||F|||20261125\r"},
		{"other delimiters", other, "OBX#1#CE#30956-7$Vaccine type^group$LN##F###20261125\r"},
	}
	f := NewFragment(DefaultDelimiters, build)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter(tt.d)
			w.Segment("OBX")
			w.Fields("1")
			w.Fragment(f)
			w.Fields("", "20261125")
			if got := string(w.Bytes()); got != tt.want {
				t.Errorf("with the fragment: %q, want %q", got, tt.want)
			}
			one := NewWriter(tt.d)
			one.Segment("OBX")
			one.Fields("1")
			build(one)
			one.Fields("", "20261125")
			if got := string(one.Bytes()); got != tt.want {
				t.Errorf("field by field: %q, want %q", got, tt.want)
			}
		})
	}
	// Trailing empty fields of a fragment are dropped when the segment
	// ends with it.
	w := NewWriter(DefaultDelimiters)
	w.Segment("OBX")
	w.Fragment(f)
	if got, want := string(w.Bytes()), "OBX|CE|30956-7^Vaccine type\\S\\group^LN||F\r"; got != want {
		t.Errorf("fragment at the end: %q, want %q", got, want)
	}
}

func TestWriterGrow(t *testing.T) {
	w := NewWriterSize(DefaultDelimiters, 0)
	w.Grow(4096)
	if c := cap(w.buf); c < 4096 {
		t.Fatalf("capacity %d after Grow(4096)", c)
	}
	w.Segment("MSA")
	w.Fields("AA", "1")
	if got := string(w.Bytes()); got != "MSA|AA|1\r" {
		t.Errorf("wrote %q", got)
	}
}
