package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/certificate"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/home"
	"github.com/iisproject/iis/portal"
)

// startPortal opens the accounts store, creates what the configuration
// seeds (the program, its first administrator, clinics, schools), and
// builds the people's pages; with an SMTP host it delivers the outbox.
// Background loops run until bg ends.
func (s *server) startPortal(ctx, bg context.Context, fc *forecast.Engine) error {
	acc, err := accounts.New(accounts.Config{Pool: s.store.Pool(), Audit: s.store, IdleTimeout: s.cfg.SessionIdleTimeout,
		Issuer: s.cfg.Application, Logger: s.log})
	if err != nil {
		return err
	}
	b := accounts.Bootstrap{Program: s.cfg.Accounts.Program}
	if a := s.cfg.Accounts.Admin; a != nil {
		b.AdminUsername, b.AdminPasswordHash, b.AdminFullName, b.AdminEmail = a.Username, a.PasswordHash, a.FullName, a.Email
	}
	for _, o := range s.cfg.Accounts.Organizations {
		b.Organizations = append(b.Organizations, accounts.Organization{Kind: accounts.OrgKind(o.Kind), Name: o.Name, Town: o.Town, FacilityID: o.FacilityID})
	}
	if err := acc.Bootstrap(ctx, b); err != nil {
		return err
	}
	proxies, err := portal.ParsePrefixes(s.cfg.TrustedProxies)
	if err != nil {
		return err
	}
	p, err := portal.New(portal.Config{Accounts: acc, PublicURL: s.cfg.PublicURL, MailSent: s.cfg.SMTPHost != "",
		SecureCookies: s.cfg.HTTPTLSCert != "", ClientAddr: portal.ClientAddr(proxies), Logger: s.log})
	if err != nil {
		return err
	}
	h, err := home.New(home.Config{Registry: s.store, Accounts: acc, Forecaster: fc, Certificates: s.certificates(), Logger: s.log})
	if err != nil {
		return err
	}
	h.Mount(p)
	s.accounts, s.portal = acc, p
	if err := s.mountEntry(acc, p); err != nil {
		return err
	}
	if s.cfg.SMTPHost != "" {
		mail := accounts.SMTP{Host: s.cfg.SMTPHost, Port: s.cfg.SMTPPort, From: s.cfg.SMTPFrom, Username: s.cfg.SMTPUser, Password: s.cfg.SMTPPassword}
		go acc.RunDelivery(bg, mail.Send, 15*time.Second)
	}
	go acc.RunHousekeeping(bg, 10*time.Minute)
	return nil
}

// certificates returns the Immunization Home's certificate issuer, made
// on first use: the health card keys and the issuer URL are known once
// the HTTP listener is up.
func (s *server) certificates() func() (*certificate.Issuer, error) {
	var once sync.Once
	var issuer *certificate.Issuer
	var err error
	return func() (*certificate.Issuer, error) {
		once.Do(func() {
			if s.shcKeys == nil {
				err = errors.New("no SMART Health Card keys (iisd serves certificates with its HTTP listener)")
				return
			}
			program := s.cfg.Accounts.Program
			if program == "" {
				program = "Immunization Information System"
			}
			issuer, err = certificate.NewIssuer(certificate.Config{Keys: s.shcKeys, IssuerURL: s.shcIssuer(), Registry: program})
		})
		return issuer, err
	}
}
