package forecast_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/forecast/cdsidata"
)

func TestSeasonsEnded(t *testing.T) {
	flu := forecast.Season{VaccineGroup: "Influenza", Start: forecast.MakeDate(2025, 7, 1), End: forecast.MakeDate(2026, 6, 30)}
	rsv := forecast.Season{VaccineGroup: "RSV", Start: forecast.MakeDate(2025, 10, 1), End: forecast.MakeDate(2026, 3, 31)}
	covid := forecast.Season{VaccineGroup: "COVID-19", Start: forecast.MakeDate(2025, 8, 27)}
	all := []forecast.Season{covid, flu, rsv}
	tests := []struct {
		name    string
		seasons []forecast.Season
		day     string
		want    string // vaccine groups whose season ended, comma-separated
	}{
		{"no seasons", nil, "2026-12-07", ""},
		{"before every season", all, "2025-06-01", ""},
		{"within every season", all, "2025-12-01", ""},
		{"on the last day of RSV", all, "2026-03-31", ""},
		{"the day after RSV ends", all, "2026-04-01", "RSV"},
		{"on the last day of influenza", all, "2026-06-30", "RSV"},
		{"after influenza ends", all, "2026-07-01", "Influenza,RSV"},
		{"open-ended season never ends", []forecast.Season{covid}, "2099-01-01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range forecast.SeasonsEnded(tt.seasons, day(tt.day)) {
				got = append(got, s.VaccineGroup)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("ended on %s = %v, want %q", tt.day, got, tt.want)
			}
		})
	}
}

// TestSeasonsOfRelease: the embedded 4.64 release covers the 2025-26
// influenza season and RSV to March 2026; COVID-19 sets no end.
func TestSeasonsOfRelease(t *testing.T) {
	var got []string
	for _, s := range engine(t).Seasons() {
		got = append(got, fmt.Sprintf("%s %s..%s", s.VaccineGroup, s.Start, s.End))
	}
	want := "COVID-19 2025-08-27..; Influenza 2025-07-01..2026-06-30; RSV 2025-09-01..2026-03-31"
	if strings.Join(got, "; ") != want {
		t.Errorf("seasons = %q, want %q", strings.Join(got, "; "), want)
	}
}

// TestLoadReleaseFromDirectory: a release loaded from a directory of CDC
// files replaces the embedded one. The copy moves the influenza season to
// 2026-27; a child due for influenza in December 2026 then gets dates
// instead of "season ended".
func TestLoadReleaseFromDirectory(t *testing.T) {
	dir := t.TempDir()
	err := fs.WalkDir(cdsidata.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(cdsidata.FS, p)
		if err != nil {
			return err
		}
		if p == "AntigenSupportingData- Influenza-508.xml" {
			b = []byte(strings.NewReplacer("<startDate>20250701</startDate>", "<startDate>20260701</startDate>",
				"<endDate>20260630</endDate>", "<endDate>20270630</endDate>").Replace(string(b)))
		}
		if p == "VERSION.txt" {
			b = []byte("test release 4.64 with the 2026-27 influenza season\n")
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := forecast.New(os.DirFS(dir))
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	if v := e.Version(); v != "test release 4.64 with the 2026-27 influenza season" {
		t.Errorf("version %q", v)
	}
	p, ds, asOf := forecast.Patient{DOB: day("2020-01-01")}, doses(dose{"2025-10-01", "150"}), day("2026-12-07")
	old := engine(t).Forecast(p, ds, asOf)
	if g := old.Group("Influenza"); g == nil || g.Earliest != forecast.NoDate || !strings.Contains(g.Reason, "season") {
		t.Fatalf("embedded release, influenza in December 2026 = %+v, want no dates (season ended)", g)
	}
	res := e.Forecast(p, ds, asOf)
	g := res.Group("Influenza")
	if g == nil || g.Status != forecast.NotComplete || g.Earliest.String() != "2026-07-01" {
		t.Fatalf("directory release, influenza in December 2026 = %+v, want due from 2026-07-01", g)
	}
	var ended []string
	for _, s := range forecast.SeasonsEnded(e.Seasons(), asOf) {
		ended = append(ended, s.VaccineGroup)
	}
	if strings.Join(ended, ",") != "RSV" {
		t.Errorf("seasons ended in the directory release = %v, want only RSV", ended)
	}
}
