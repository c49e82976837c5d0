package main

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis/forecast/cdsidata"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestForecasterRelease: iisd loads the embedded CDC release or one from
// -cdsi-dir, exports its version and season coverage, warns at start
// and puts a console banner up when a season has ended.
func TestForecasterRelease(t *testing.T) {
	dir := t.TempDir()
	if err := copyFS(dir, cdsidata.FS); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, today string
		covered          float64
		warn             bool
	}{
		{"embedded, within the 2025-26 season", "", "2025-12-01", 1, false},
		{"embedded, December 2026", "", "2026-12-07", 0, true},
		{"directory, within the season", dir, "2025-12-01", 1, false},
		{"directory, December 2026", dir, "2026-12-07", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			today, _ := time.Parse(time.DateOnly, tt.today)
			now := func() time.Time { return today }
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			reg := prometheus.NewRegistry()
			e, err := loadForecaster(tt.dir, reg, log, now)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(e.Version(), "4.64") {
				t.Errorf("version %q", e.Version())
			}
			n, err := testutil.GatherAndCount(reg, "iis_forecast_release_info")
			if err != nil || n != 1 {
				t.Errorf("iis_forecast_release_info: %d series, %v", n, err)
			}
			source := "embedded"
			if tt.dir != "" {
				source = "directory"
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, mf := range mfs {
				for _, m := range mf.GetMetric() {
					key := mf.GetName()
					for _, l := range m.GetLabel() {
						key += "/" + l.GetValue()
					}
					got[key] = m.GetGauge().GetValue()
				}
			}
			if got["iis_forecast_release_info/"+source+"/4.64-508"] != 1 {
				t.Errorf("iis_forecast_release_info{version=4.64-508,source=%s} missing: %v", source, got)
			}
			if got["iis_forecast_season_covered"] != tt.covered {
				t.Errorf("iis_forecast_season_covered = %v, want %v", got["iis_forecast_season_covered"], tt.covered)
			}
			flu := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC).Unix()
			if got["iis_forecast_season_end_timestamp_seconds/Influenza"] != float64(flu) {
				t.Errorf("influenza season end = %v, want %d", got["iis_forecast_season_end_timestamp_seconds/Influenza"], flu)
			}
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "Influenza 2026-06-30")
			if warned != tt.warn {
				t.Errorf("warned = %v, want %v: %s", warned, tt.warn, logs.String())
			}
			notice := releaseNotice(e, now)()
			if (notice != "") != tt.warn || tt.warn && !strings.Contains(notice, "Influenza 2026-06-30") {
				t.Errorf("console notice %q", notice)
			}
		})
	}
	if _, err := loadForecaster(t.TempDir(), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), time.Now); err == nil ||
		!strings.Contains(err.Error(), "ScheduleSupportingData") {
		t.Errorf("empty directory: %v, want an error naming the missing file", err)
	}
}

func TestShortVersion(t *testing.T) {
	for in, want := range map[string]string{
		"CDC CDSi supporting data, release 4.64-508 (CDC release notes dated November 10, 2025).": "4.64-508",
		"release 4.65.": "4.65",
		"local build 7": "local build 7",
		"":              "unknown",
	} {
		if got := shortVersion(in); got != want {
			t.Errorf("shortVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConfigCDSIDir: the release directory comes from -cdsi-dir or
// IIS_CDSI_DIR.
func TestConfigCDSIDir(t *testing.T) {
	cfg, _, err := loadConfig(nil, func(k string) string { return map[string]string{"IIS_CDSI_DIR": "/from/env"}[k] })
	if err != nil || cfg.CDSIDir != "/from/env" {
		t.Errorf("env: %q %v", cfg.CDSIDir, err)
	}
	cfg, _, err = loadConfig([]string{"-cdsi-dir", "/from/flag"}, func(string) string { return "" })
	if err != nil || cfg.CDSIDir != "/from/flag" {
		t.Errorf("flag: %q %v", cfg.CDSIDir, err)
	}
}

func copyFS(dir string, fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
}
