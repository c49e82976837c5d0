// Package pdftext reads a PDF's text with poppler's pdftotext, for the
// tests that check what a printed letter or label says.
package pdftext

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Text is the text pdftotext -layout reads from pdf (pages separated by
// form feeds); it skips t when pdftotext is not installed.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext not installed")
	}
	f := filepath.Join(t.TempDir(), "x.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
