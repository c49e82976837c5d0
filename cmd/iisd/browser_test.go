package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/iisproject/iis/accounts"
	"github.com/iisproject/iis/soap"
)

// chromium finds the browser the console tests drive (Debian's chromium
// package; `make test` installs it).
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("IIS_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("no Chromium: install Debian's chromium package (make test does) or set IIS_CHROMIUM")
	return ""
}

// browser drives one headless Chromium.
type browser struct {
	t     *testing.T
	ctx   context.Context
	dir   string // where screenshots go (the test's artifacts)
	shots string // the screenshots' file name prefix
	began time.Time
}

// browserConfig is a journey's browser.
type browserConfig struct {
	Width, Height int           // the window (default 1200×900)
	Lang          string        // Chromium's --lang (default the system's)
	Timeout       time.Duration // the whole journey (default 4 minutes)
	Shots         string        // the screenshots' file name prefix
}

// newBrowser starts Chromium exe for t; it is closed when t ends.
func newBrowser(t *testing.T, exe string, cfg browserConfig) *browser {
	if cfg.Width == 0 {
		cfg.Width, cfg.Height = 1200, 900
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 4 * time.Minute // a loaded CI machine is slow to start Chromium
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(cfg.Width, cfg.Height))
	if cfg.Lang != "" {
		opts = append(opts, chromedp.Flag("lang", cfg.Lang))
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	bctx, cancel = context.WithTimeout(bctx, cfg.Timeout)
	t.Cleanup(cancel)
	// Start the browser on the long-lived context: the steps' shorter
	// contexts must not own it (ending the first would close the tab).
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browser{t: t, ctx: bctx, dir: t.ArtifactDir(), shots: cfg.Shots, began: time.Now()}
}

type step = chromedp.Action[chromedp.Void]

// run does steps, failing the test with the page's address and text if
// one fails; it logs when it is done, in seconds since the browser began.
func (b *browser) run(what string, steps ...step) {
	b.t.Helper()
	defer func() { b.t.Logf("%6.1fs %s", time.Since(b.began).Seconds(), what) }()
	for i, st := range steps {
		// Each step gets a minute: a wait that will never end fails with
		// its step's number rather than at the test's end.
		ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
		err := chromedp.Do(ctx, st)
		cancel()
		if err != nil {
			loc, _ := chromedp.Run(b.ctx, chromedp.Location())
			body, _ := chromedp.Run(b.ctx, chromedp.Text("body"))
			b.t.Fatalf("%s, step %d: %v (at %s: %.500s)", what, i+1, err, loc, body)
		}
	}
}

// text is the text of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// attr is attribute name of the element sel.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.AttributeValue(sel, name))
	if err != nil {
		b.t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return v.Value
}

// signIn signs user in on the people's sign-in page and waits to leave
// it (for the page asked for, or the second factor's).
func (b *browser) signIn(base, user, password string) {
	b.t.Helper()
	b.run("sign in as "+user,
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user),
		chromedp.SendKeys("#password", password),
		chromedp.Click("#signin"),
		b.waitURLNot("/signin?"),
	)
}

// waitURL waits until the page's address contains part.
func (b *browser) waitURL(part string) step {
	return b.waitLoc(func(loc string) bool { return strings.Contains(loc, part) }, part)
}

// waitURLNot waits until the page's address no longer contains part.
func (b *browser) waitURLNot(part string) step {
	return b.waitLoc(func(loc string) bool { return !strings.Contains(loc, part) && !strings.HasSuffix(loc, "/signin") }, "not "+part)
}

func (b *browser) waitLoc(ok func(string) bool, what string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			if loc, err := chromedp.Location()(ctx, tg); err == nil && ok(loc) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for an address %s: %w", what, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// shot saves a screenshot as a test artifact (never fails the test).
func (b *browser) shot(name string) step {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var err error
		for try := 0; try < 3; try++ {
			var png []byte
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			png, err = chromedp.FullScreenshot(100)(sctx, tg)
			cancel()
			if err == nil {
				return os.WriteFile(filepath.Join(b.dir, b.shots+name+".png"), png, 0o644)
			}
			time.Sleep(300 * time.Millisecond)
		}
		b.t.Logf("screenshot %s not taken: %v", name, err)
		return nil
	})
}

// journeyPeople are a journey's organizations and users, made on iisd's
// accounts store, all with one password; users of program roles get an
// authenticator enrolled, whose codes signIn gives.
type journeyPeople struct {
	t        *testing.T
	acc      *accounts.Store
	password string
	hash     string
	secrets  map[string]string
}

const journeyPassword = "correct-horse-battery-9"

func newJourneyPeople(t *testing.T, acc *accounts.Store) *journeyPeople {
	hash, err := soap.HashPassword(journeyPassword)
	if err != nil {
		t.Fatal(err)
	}
	return &journeyPeople{t: t, acc: acc, password: journeyPassword, hash: hash, secrets: map[string]string{}}
}

// org makes an organization and returns its id.
func (p *journeyPeople) org(o accounts.Organization) int64 {
	p.t.Helper()
	id, err := p.acc.CreateOrganization(context.Background(), o)
	if err != nil {
		p.t.Fatal(err)
	}
	return id
}

// user makes u (email and password filled in), enrolling an
// authenticator where its role requires one.
func (p *journeyPeople) user(u accounts.NewUser) {
	p.t.Helper()
	ctx := context.Background()
	u.Email, u.PasswordHash = u.Username+"@example.org", p.hash
	id, err := p.acc.CreateUser(ctx, u)
	if err != nil {
		p.t.Fatal(err)
	}
	if !u.Role.TOTPRequired() {
		return
	}
	usr, _ := p.acc.User(ctx, id)
	e, err := p.acc.BeginTOTP(ctx, usr)
	if err != nil {
		p.t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now())
	if err := p.acc.ConfirmTOTP(ctx, usr, code, "127.0.0.1"); err != nil {
		p.t.Fatal(err)
	}
	p.secrets[u.Username] = e.Secret
}

// signIn signs user in with b, giving the second factor when enrolled,
// and waits for a signed-in page.
func (p *journeyPeople) signIn(b *browser, base, user string) {
	p.t.Helper()
	b.run("sign in "+user, chromedp.Navigate(base+"/signin"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", p.password), chromedp.Click("#signin"))
	if secret := p.secrets[user]; secret != "" {
		code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		b.run("second factor", chromedp.WaitVisible("#code"), chromedp.SendKeys("#code", code), chromedp.Click("#verify"))
	}
	b.run("home of "+user, chromedp.WaitVisible("#whoami"))
}

// reportAccepted sends each VXU over MLLP, requires AA, and waits until
// the registry holds doses of patients distinct patients.
func reportAccepted(t *testing.T, s *server, patients int, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		if ack := sendMLLP(t, s, m); !ack.Get("MSA-1").Equal("AA") {
			t.Fatalf("VXU not accepted: %q", ack.Bytes())
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		_ = s.store.Pool().QueryRow(context.Background(), `SELECT count(DISTINCT patient_id) FROM vaccination_events`).Scan(&n)
		if n == patients {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d patients reached the registry", n, patients)
		}
	}
}
