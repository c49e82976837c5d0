package console_test

import (
	"strings"
	"testing"
)

// TestNoticeBanner: Config.Notice's text is a banner on every signed-in
// page, escaped, and absent when it is empty or nobody is signed in.
func TestNoticeBanner(t *testing.T) {
	e := newEnv(t)
	const text = "Forecast: the CDC supporting data loaded (4.64) end their season for Influenza 2026-06-30 <now>"
	e.notice.Store(text)
	c := e.client(t)
	if _, body := get(t, noFollow(c), e.srv.URL+"/console/live"); strings.Contains(body, `id="notice"`) {
		t.Error("banner for an anonymous visitor")
	}
	e.login(t, c, "vera")
	for _, path := range []string{"/console/live", "/console/messages", "/console/errors", "/console/reviews", "/console/facilities"} {
		code, body := get(t, c, e.srv.URL+path)
		if code != 200 || !strings.Contains(body, `id="notice"`) || !strings.Contains(body, "Influenza 2026-06-30 &lt;now&gt;") {
			t.Errorf("%s: %d, want the banner: %.300s", path, code, body)
		}
	}
	e.notice.Store("")
	if _, body := get(t, c, e.srv.URL+"/console/live"); strings.Contains(body, `id="notice"`) {
		t.Error("banner shown with an empty notice")
	}
}
