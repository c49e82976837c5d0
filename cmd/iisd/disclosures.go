package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/iisproject/iis/registry"
)

// disclosures is `iisd disclosures`: the accounting of disclosures of one
// patient's data (who was sent what, when), for the patient or an auditor.
//
//	iisd disclosures -database-url URL -patient 42
//	iisd disclosures -database-url URL -id 432155 -authority dcs
func disclosures(args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("iisd disclosures", flag.ContinueOnError)
	url := fs.String("database-url", getenv("DATABASE_URL"), "the registry's PostgreSQL (env DATABASE_URL)")
	patient := fs.Int64("patient", 0, "registry patient id")
	id := fs.String("id", "", "a patient identifier (PID-3.1), instead of -patient")
	authority := fs.String("authority", "", "the identifier's assigning authority (PID-3.4)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return errors.New("-database-url (or DATABASE_URL) is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := registry.Open(ctx, registry.Config{URL: *url, MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	if *patient == 0 {
		if *id == "" {
			return errors.New("name the patient with -patient or -id (and -authority)")
		}
		err := st.Pool().QueryRow(ctx, `SELECT patient_id FROM patient_identifiers WHERE value = $1 AND authority = $2 LIMIT 1`, *id, *authority).Scan(patient)
		if err != nil {
			return fmt.Errorf("no patient with identifier %s^^^%s: %w", *id, *authority, err)
		}
	}
	ds, err := st.Disclosures(ctx, *patient)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "disclosures of patient %s: %d\n", strconv.FormatInt(*patient, 10), len(ds))
	fmt.Fprintln(tw, "when\tto facility\twhat")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.At.UTC().Format(time.RFC3339), d.Facility, d.What)
	}
	return tw.Flush()
}

func runDisclosures() {
	if err := disclosures(os.Args[2:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iisd disclosures:", err)
		os.Exit(1)
	}
}
