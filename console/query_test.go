package console_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/registry"
)

// storeQueries stores two answered queries from CLINIC Q as the worker
// would: one Z42, one Z33 NF.
func (e *env) storeQueries(t *testing.T) {
	t.Helper()
	var msgs []*registry.Message
	for _, q := range []struct{ id, outcome, answer string }{
		{"QRY-1", "Z42", "MSH|^~\\&|IIS|IIS|EHR|CLINIC Q|20260101||RSP^K11^RSP_K11|R1|P|2.5.1|||NE|NE|||||Z42^CDCPHINVS\rMSA|AA|QRY-1\rQAK|QRY-1|OK|Z44^Request Evaluated History and Forecast^CDCPHINVS\rPID|1||123^^^A^MR||Doe^Jane\r"},
		{"QRY-2", "Z33 NF", "MSH|^~\\&|IIS|IIS|EHR|CLINIC Q|20260101||RSP^K11^RSP_K11|R2|P|2.5.1|||NE|NE|||||Z33^CDCPHINVS\rMSA|AA|QRY-2\rQAK|QRY-2|NF|Z44^Request Evaluated History and Forecast^CDCPHINVS\r"},
	} {
		msgs = append(msgs, &registry.Message{Kind: registry.KindQuery, Facility: "CLINIC Q", ControlID: q.id, Type: "QBP", Ack: "AA",
			Transport: "soap", Received: time.Now(), QueryOutcome: q.outcome, AckBody: []byte(q.answer),
			Raw: []byte("MSH|^~\\&|EHR|CLINIC Q|IIS|IIS|20260101||QBP^Q11^QBP_Q11|" + q.id + "|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r" +
				"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|" + q.id + "|123^^^A^MR|Doe^Jane||20200101\r")})
	}
	if err := pgx.BeginFunc(context.Background(), e.store.Pool(), func(tx pgx.Tx) error {
		_, err := e.store.StoreQueries(context.Background(), tx, msgs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestQueriesInBrowser: queries are listed with their answers, filtered by
// type and answer, and a query's page shows the QBP beside its RSP,
// without a resend button (resending one is refused).
func TestQueriesInBrowser(t *testing.T) {
	e := newEnv(t)
	e.storeQueries(t)
	c := e.client(t)
	tok := e.login(t, c, "ed")
	link := regexp.MustCompile(`<a href="/console/messages/(\d+)">([^<]+)</a>`)
	listed := func(query string) []string {
		t.Helper()
		code, body := get(t, c, e.srv.URL+"/console/messages?"+query)
		if code != 200 {
			t.Fatalf("%s: %d", query, code)
		}
		var ids []string
		for _, m := range link.FindAllStringSubmatch(body, -1) {
			ids = append(ids, m[2])
		}
		return ids
	}
	if got := strings.Join(listed("type=QBP"), ","); got != "QRY-2,QRY-1" {
		t.Errorf("type=QBP lists %s", got)
	}
	if got := strings.Join(listed("outcome=z33+nf"), ","); got != "QRY-2" {
		t.Errorf("outcome=Z33 NF lists %s", got)
	}
	if got := listed("type=VXU"); len(got) != 5 {
		t.Errorf("type=VXU lists %v", got)
	}
	code, body := get(t, c, e.srv.URL+"/console/messages?type=QBP")
	if code != 200 || !strings.Contains(body, `<span class="query-outcome">Z42</span>`) {
		t.Errorf("the list does not show the answers")
	}
	var id string
	for _, m := range link.FindAllStringSubmatch(body, -1) {
		if m[2] == "QRY-1" {
			id = m[1]
		}
	}
	code, body = get(t, c, e.srv.URL+"/console/messages/"+id)
	for _, want := range []string{`class="side-by-side"`, "Query (QBP)", "Answer sent back (Z42)", "QPD|Z44", "QAK|QRY-1|OK", `id="query-outcome">Z42<`} {
		if !strings.Contains(body, want) {
			t.Errorf("query page: no %q", want)
		}
	}
	if code != 200 || strings.Contains(body, `id="resend"`) || strings.Contains(body, "What the worker did") {
		t.Errorf("query page %d offers a resend or the worker's doses", code)
	}
	if code, _ := post(t, c, e.srv.URL+"/console/messages/"+id+"/resend", url.Values{"csrf": {tok}}); code != 400 || len(e.resent) != 0 {
		t.Errorf("resending a query: %d, %v", code, e.resent)
	}
	if _, body := get(t, c, e.srv.URL+"/console/messages?outcome=Z99"); !strings.Contains(body, "outcome: Z99 is not one of") {
		t.Errorf("bad outcome not reported")
	}
}
