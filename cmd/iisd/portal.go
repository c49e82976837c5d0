package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/certificate"
	"github.com/iisproject/iis/console"
	"github.com/iisproject/iis/forecast"
	"github.com/iisproject/iis/home"
	"github.com/iisproject/iis/portal"
)

// defaultProgram names the state program's organization when the
// configuration names none but has console_users to put in it.
const defaultProgram = "Immunization program"

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
	if len(s.cfg.ConsoleUsers) > 0 && b.Program == "" {
		b.Program = defaultProgram // the console users' organization
	}
	if err := acc.Bootstrap(ctx, b); err != nil {
		return err
	}
	if err := s.importConsoleUsers(ctx, acc, b.Program); err != nil {
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
	if err := s.mountCoverage(bg, acc, p, fc); err != nil {
		return err
	}
	if err := s.mountRecall(acc, p, fc); err != nil {
		return err
	}
	if err := s.mountCompliancy(acc, p, fc); err != nil {
		return err
	}
	if err := s.mountInventory(acc, p); err != nil {
		return err
	}
	if err := s.mountOrdering(acc, p); err != nil {
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

// importConsoleUsers makes the deprecated console_users accounts of the
// program (viewer and engineer: integration engineers; admin: program
// administrator), password hashes kept, unless their usernames exist.
func (s *server) importConsoleUsers(ctx context.Context, acc *accounts.Store, program string) error {
	if len(s.cfg.ConsoleUsers) == 0 {
		return nil
	}
	names := make([]string, 0, len(s.cfg.ConsoleUsers))
	users := make([]accounts.ConsoleUser, 0, len(s.cfg.ConsoleUsers))
	for _, u := range s.cfg.ConsoleUsers {
		names = append(names, u.Username)
		users = append(users, accounts.ConsoleUser{Username: u.Username, PasswordHash: u.PasswordHash, Role: u.Role})
	}
	s.log.Warn("console_users is deprecated: its users are imported as accounts (viewer and engineer as integration engineers, admin as program administrator) and sign in on the people's pages; manage them there and remove the setting",
		"users", strings.Join(names, ","), "program", program)
	return acc.ImportConsoleUsers(ctx, program, users, s.log)
}

// consoleAuth signs the operations console's visitors in through the
// people's pages: the console reads the accounts session, its role
// (accounts.Role.Console) and its CSRF token.
type consoleAuth struct{ p *portal.Portal }

func (a consoleAuth) Visitor(r *http.Request) (console.Visitor, bool) {
	u, ss, ok := a.p.SignedIn(r)
	if !ok {
		return console.Visitor{}, false
	}
	return console.Visitor{Username: u.Username, Role: console.Role(u.Role.Console()), RoleLabel: u.Role.Label(), CSRF: ss.CSRF}, true
}
