package soap_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/iisproject/iis/soap"
)

// An IIS application answering every message with an AA ACK, behind the
// SOAP service over HTTPS, and a sender using the Client.
func Example() {
	// In configuration, store only the hash: soap.HashPassword("…").
	hash, err := soap.HashPassword("s3cret")
	if err != nil {
		log.Fatal(err)
	}
	accounts, err := soap.NewAccounts([]soap.Account{{Username: "ehr", PasswordHash: hash, Facilities: []string{"CLINIC1"}}})
	if err != nil {
		log.Fatal(err)
	}
	app := soap.HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		fac, _ := soap.FacilityFromContext(ctx)
		return []byte("MSH|^~\\&|IIS|IIS|EHR|" + fac.FacilityID + "|20260101||ACK^V04^ACK|A1|P|2.5.1\rMSA|AA|M1\r")
	})
	srv, err := soap.NewServer(soap.Config{Handler: app, Auth: accounts})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()

	c := &soap.Client{URL: ts.URL, HTTPClient: ts.Client(), Username: "ehr", Password: "s3cret", FacilityID: "CLINIC1"}
	ack, err := c.SubmitSingleMessage(context.Background(), []byte("MSH|^~\\&|EHR|CLINIC1|IIS|IIS|20260101||VXU^V04^VXU_V04|M1|P|2.5.1\r"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", ack)

	c.Password = "guess"
	_, err = c.SubmitSingleMessage(context.Background(), []byte("MSH|^~\\&|EHR|CLINIC1\r"))
	fmt.Println(err)
	// Output:
	// "MSH|^~\\&|IIS|IIS|EHR|CLINIC1|20260101||ACK^V04^ACK|A1|P|2.5.1\rMSA|AA|M1\r"
	// soap fault Sender (SecurityFault): Invalid Username, Password or FacilityID
}
