package soap

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestClient(t *testing.T) {
	ts := newTestServer(t, true, Config{MaxMessageSize: 16 << 10})
	url := ts.URL + "/IISService"
	vxu := readSample(t, "vxu-nist-ad-2.1-adult-flu.hl7")
	const id = "NIST-IZ-AD-2.1_Send_V04_Z22"

	for _, rev := range []Revision{Rev2011, Rev2014} {
		t.Run(rev.String(), func(t *testing.T) {
			c := &Client{URL: url, HTTPClient: ts.Client(), Revision: rev, Username: user2, Password: pass2, FacilityID: "FAC2"}
			reply, err := c.SubmitSingleMessage(t.Context(), []byte(vxu))
			if err != nil {
				t.Fatal(err)
			}
			want := "MSH|^~\\&|IIS|IIS|EHR|FAC2|20260101000000||ACK^V04^ACK|ACK" + id + "|P|2.5.1\rMSA|AA|" + id + "\r"
			if string(reply) != want {
				t.Errorf("reply %q, want %q", reply, want)
			}

			echo, err := c.ConnectivityTest(t.Context(), "are you there? <&>")
			if err != nil || echo != "are you there? <&>" {
				t.Errorf("ConnectivityTest = %q, %v", echo, err)
			}

			bad := *c
			bad.Password = "nope"
			_, err = bad.SubmitSingleMessage(t.Context(), []byte(vxu))
			var f *Fault
			if !errors.As(err, &f) || f.Kind != KindSecurity || f.Code != CodeSender || f.Revision != rev {
				t.Errorf("bad password: err = %#v", err)
			}

			_, err = c.SubmitSingleMessage(t.Context(), []byte(vxu+strings.Repeat("NTE|1||"+strings.Repeat("z", 200)+"\r", 100)))
			if !errors.As(err, &f) || f.Kind != KindMessageTooLarge {
				t.Fatalf("oversize: err = %v", err)
			}
			if rev == Rev2014 && f.MaxSize != 16<<10 || rev == Rev2011 && f.DetailCode != detailCodeTooLarge {
				t.Errorf("oversize fault %+v", f)
			}
		})
	}
}

func TestClientSOAPFaultIsError(t *testing.T) {
	ts := newTestServer(t, false, Config{})
	c := &Client{URL: ts.URL + "/IISService", Username: user1, Password: pass1, FacilityID: "FAC1"}
	_, err := c.SubmitSingleMessage(t.Context(), []byte("MSH|^~\\&|A|B|C|D|20260101||VXU^V04|EMPTY|P|2.5.1\r"))
	var f *Fault
	if !errors.As(err, &f) || f.Code != CodeReceiver || f.Kind != KindUnknown {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "Receiver") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestClientErrors(t *testing.T) {
	// Not a SOAP service at all.
	plain := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gateway says no", http.StatusBadGateway)
	})
	c := &Client{URL: plain}
	if _, err := c.ConnectivityTest(t.Context(), "x"); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("non-SOAP answer: err = %v", err)
	}

	// A SOAP answer of the wrong kind.
	wrong := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctSOAP12)
		w.Write([]byte(env12(`<connectivityTestResponse xmlns="urn:cdc:iisb:2011"><return>x</return></connectivityTestResponse>`)))
	})
	c = &Client{URL: wrong, Revision: Rev2014}
	if _, err := c.ConnectivityTest(t.Context(), "x"); err == nil || !strings.Contains(err.Error(), "want") {
		t.Errorf("wrong response element: err = %v", err)
	}

	// A response over the client's limit.
	huge := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctSOAP12)
		w.Write([]byte(strings.Repeat(" ", 2048)))
	})
	c = &Client{URL: huge, MaxResponseSize: 1024}
	if _, err := c.ConnectivityTest(t.Context(), "x"); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("huge response: err = %v", err)
	}

	// A deadline.
	slow := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	c = &Client{URL: slow}
	if _, err := c.ConnectivityTest(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: err = %v", err)
	}
}
