package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/iisproject/iis/forecast"
	"github.com/prometheus/client_golang/prometheus"
)

// releaseSource names where the forecaster's CDC release comes from.
func releaseSource(dir string) string {
	if dir == "" {
		return "embedded"
	}
	return "directory"
}

// loadForecaster loads the CDC CDSi supporting-data release from dir (a
// directory of CDC's XML files), or the release embedded in the binary
// when dir is empty. It registers the release's metrics on reg and warns
// when the release's seasonal recommendations no longer cover today.
func loadForecaster(dir string, reg prometheus.Registerer, log *slog.Logger, now func() time.Time) (*forecast.Engine, error) {
	var e *forecast.Engine
	var err error
	if dir == "" {
		e, err = forecast.Default()
	} else {
		e, err = forecast.New(os.DirFS(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("CDSi release (%s): %w", releaseSource(dir), err)
	}
	version := shortVersion(e.Version())
	registerReleaseMetrics(e, version, releaseSource(dir), reg, now)
	log.Info("forecast release loaded", "release", version, "source", releaseSource(dir))
	if ended := forecast.SeasonsEnded(e.Seasons(), now()); len(ended) > 0 {
		log.Warn("forecast: the CDSi release's seasonal recommendations ended; these vaccine groups are forecast without dates until a newer CDC release is loaded (-cdsi-dir)",
			"release", version, "ended", seasonList(ended))
	}
	return e, nil
}

// registerReleaseMetrics exports the release's version and whether its
// seasons cover the current day (evaluated at each scrape).
func registerReleaseMetrics(e *forecast.Engine, version, source string, reg prometheus.Registerer, now func() time.Time) {
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "iis_forecast_release_info",
		Help: "The CDC CDSi supporting-data release the forecaster loaded (value 1)."}, []string{"version", "source"})
	info.WithLabelValues(version, source).Set(1)
	seasons := e.Seasons()
	covered := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iis_forecast_season_covered",
		Help: "1 while every seasonal recommendation of the loaded CDSi release covers today, 0 once one has ended (its vaccines are then forecast without dates)."},
		func() float64 {
			if len(forecast.SeasonsEnded(seasons, now())) > 0 {
				return 0
			}
			return 1
		})
	end := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "iis_forecast_season_end_timestamp_seconds",
		Help: "When the loaded CDSi release's season of a vaccine group ends: the start (UTC) of the day after its last day."}, []string{"vaccine_group"})
	for _, s := range seasons {
		if s.End != forecast.NoDate {
			end.WithLabelValues(s.VaccineGroup).Set(float64(s.End.Time().AddDate(0, 0, 1).Unix()))
		}
	}
	reg.MustRegister(info, covered, end)
}

// seasonList renders seasons as "Influenza 2026-06-30, RSV 2026-03-31".
func seasonList(ss []forecast.Season) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.VaccineGroup + " " + s.End.String()
	}
	return strings.Join(parts, ", ")
}

// shortVersion turns VERSION.txt's first line ("CDC CDSi supporting
// data, release 4.64-508 (…)") into the release number for the metric
// label and the banner; a line without "release" is kept whole.
func shortVersion(line string) string {
	if _, after, ok := strings.Cut(line, "release "); ok {
		if f := strings.Fields(after); len(f) > 0 {
			return strings.TrimRight(f[0], ".,;")
		}
	}
	if line == "" {
		return "unknown"
	}
	return line
}

// releaseNotice is the console's banner: empty while the release's
// seasons cover today.
func releaseNotice(e *forecast.Engine, now func() time.Time) func() string {
	seasons, version := e.Seasons(), shortVersion(e.Version())
	return func() string {
		ended := forecast.SeasonsEnded(seasons, now())
		if len(ended) == 0 {
			return ""
		}
		return fmt.Sprintf("Forecast: the CDC supporting data loaded (release %s) end their season for %s; those vaccines are forecast without dates. Load a newer CDC release (-cdsi-dir).",
			version, seasonList(ended))
	}
}
