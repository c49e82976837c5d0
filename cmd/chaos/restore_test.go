package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRestorePointSeq(t *testing.T) {
	for name, want := range map[string]uint64{
		"iis-20261208T022534Z-seq-4492": 4492,
		"iis-20261208T022534Z-seq-0":    0,
		"iis-20261208T022534Z":          0,
		"iis-x-seq-notanumber":          0,
		"":                              0,
	} {
		if got := restorePointSeq(name); got != want {
			t.Errorf("restorePointSeq(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestCheckPoint(t *testing.T) {
	a, b, c := msgKey{"F", "1"}, msgKey{"F", "2"}, msgKey{"F", "3"}
	original := map[msgKey]uint64{a: 5, b: 9, c: 12}
	stored := func(keys ...msgKey) registrySnapshot {
		s := registrySnapshot{reports: map[msgKey]storedReport{}}
		for _, k := range keys {
			s.reports[k] = storedReport{kind: "vxu", ack: "AA", doses: 1}
		}
		return s
	}
	sent := func(ack string, keys ...msgKey) []sentRecord {
		var out []sentRecord
		for _, k := range keys {
			out = append(out, sentRecord{Facility: k.facility, ControlID: k.controlID, Ack: ack})
		}
		return out
	}
	tests := []struct {
		name                       string
		floor                      uint64
		restored                   registrySnapshot
		before, after              []sentRecord
		missing, awaiting, afterTg int
	}{
		{name: "all up to the floor", floor: 9, restored: stored(a, b), before: sent("AA", a, b)},
		{name: "applied but not acknowledged at the point: fine", floor: 5, restored: stored(a, b), before: sent("AA", a, b)},
		{name: "committed before the point, missing", floor: 9, restored: stored(a), before: sent("AA", a, b), missing: 1, awaiting: 1},
		{name: "AA before the point, queued, not applied", floor: 5, restored: stored(a), before: sent("AA", a, b), awaiting: 1},
		{name: "AR before the point is not awaited", floor: 5, restored: stored(a), before: append(sent("AA", a), sent("AR", b)...)},
		{name: "sent after the point, restored", floor: 9, restored: stored(a, b, c), before: sent("AA", a, b), after: sent("AA", c), afterTg: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := checkPoint(tc.floor, tc.restored, original, tc.before, tc.after)
			if len(p.missing) != tc.missing || p.awaiting != tc.awaiting || len(p.afterTarget) != tc.afterTg {
				t.Errorf("missing=%v awaiting=%d after=%v; want %d, %d, %d", p.missing, p.awaiting, p.afterTarget, tc.missing, tc.awaiting, tc.afterTg)
			}
			if want := tc.missing + tc.afterTg; p.failures() != want {
				t.Errorf("failures = %d, want %d", p.failures(), want)
			}
		})
	}
}

// TestBackupScriptReplayFrom runs deploy/backup/iis-backup.sh replay-from:
// the first sequence iisd replay applies after a restore to a named point,
// a time, or the end of the archive.
func TestBackupScriptReplayFrom(t *testing.T) {
	dir := t.TempDir()
	catalog := "iis-20261208T020000Z-seq-100\t2026-12-08 02:00:00.100000+00\t100\n" +
		"iis-20261208T021000Z-seq-250\t2026-12-08 02:10:00.200000+00\t250\n"
	if err := os.WriteFile(filepath.Join(dir, "restore-points.tsv"), []byte(catalog), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("..", "..", "deploy", "backup", "iis-backup.sh")
	tests := []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{args: []string{"name", "iis-20261208T021000Z-seq-250"}, want: "251"},
		{args: []string{"name", "nightly"}, wantErr: true},
		{args: []string{"time", "2026-12-08 02:05:00+00"}, want: "101"},
		{args: []string{"time", "2026-12-08 02:10:00.200000+00"}, want: "251"},
		{args: []string{"time", "2026-12-08 01:00:00+00"}, want: "1"}, // before every restore point: the whole stream
		{args: []string{"latest"}, want: "251"},
		{args: []string{"sometime"}, wantErr: true},
	}
	for _, tc := range tests {
		cmd := exec.Command("sh", append([]string{script, "replay-from"}, tc.args...)...)
		cmd.Env = append(os.Environ(), "IIS_BACKUP_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if tc.wantErr {
			if err == nil {
				t.Errorf("replay-from %v = %q, want an error", tc.args, out)
			}
			continue
		}
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("replay-from %v = %q (%v), want %s", tc.args, out, err, tc.want)
		}
	}
}
