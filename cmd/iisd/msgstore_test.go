package main

import (
	"maps"
	"os"
	"strings"
	"testing"
)

// TestMessageStoreConfig: the configuration file's message_store key
// overrides the default retention kind by kind (0: forever) and a bad
// period or kind is refused.
func TestMessageStoreConfig(t *testing.T) {
	for _, c := range []struct {
		name, json string
		want       map[string]int
		bad        bool
	}{
		{"defaults", `{}`, map[string]int{"vxu": 24, "rejected": 36, "query": 6, "other": 12}, false},
		{"one kind", `{"message_store": {"retention_months": {"query": 3}}}`, map[string]int{"vxu": 24, "rejected": 36, "query": 3, "other": 12}, false},
		{"forever", `{"message_store": {"retention_months": {"vxu": 0}}}`, map[string]int{"vxu": 0, "rejected": 36, "query": 6, "other": 12}, false},
		{"bad kind", `{"message_store": {"retention_months": {"adt": 3}}}`, nil, true},
		{"bad period", `{"message_store": {"period": "year"}}`, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := t.TempDir() + "/iisd.json"
			if err := os.WriteFile(file, []byte(c.json), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, _, err := loadConfig([]string{"-config", file}, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.MessageStore.policy()
			if err := p.Validate(); (err != nil) != c.bad {
				t.Fatalf("validate: %v, want error %v", err, c.bad)
			}
			if !c.bad && !maps.Equal(p.RetentionMonths, c.want) {
				t.Errorf("retention %v, want %v", p.RetentionMonths, c.want)
			}
			if c.bad && !strings.Contains(p.Validate().Error(), "message store") {
				t.Errorf("error %q does not name the message store", p.Validate())
			}
		})
	}
}
