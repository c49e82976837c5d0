package main

import (
	"context"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/portal"
	"github.com/iisproject/iis/recall"
	"github.com/iisproject/iis/registry"
)

// mountRecall adds the reminder/recall pages to the people's pages.
func (s *server) mountRecall(acc *accounts.Store, p *portal.Portal, fc *forecast.Engine) error {
	rp, err := recall.New(recall.Config{Registry: s.store, Accounts: acc, Forecaster: fc, Logger: s.log,
		Excluder: movedOrGone{acc: acc, reg: s.store}})
	if err != nil {
		return err
	}
	rp.Mount(p)
	return nil
}

// movedOrGone leaves out of a clinic's reminder/recall the children the
// clinic marked moved or gone elsewhere on its coverage report.
type movedOrGone struct {
	acc *accounts.Store
	reg *registry.Store
}

func (m movedOrGone) Excluded(ctx context.Context, clinicOrgID int64, patientIDs []int64) (map[int64]bool, error) {
	org, err := m.acc.Organization(ctx, clinicOrgID)
	if err != nil || org.FacilityID == "" {
		return nil, err
	}
	return m.reg.MarkedMovedOrGoneElsewhere(ctx, org.FacilityID, patientIDs)
}
