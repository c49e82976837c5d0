package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.Local().Format("2006-01-02 15:04:05")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.Local().Format("2006-01-02 15:04:05")
		}
		return ""
	},
	"day": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format("2006-01-02")
	},
	"join": strings.Join,
	"deref": func(p *int64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprint(*p)
	},
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"boolp": func(b *bool) string {
		switch {
		case b == nil:
			return ""
		case *b:
			return "yes"
		}
		return "no"
	},
	"issueText": func(issue string) string {
		// E:101:5:RXA-17 -> "E 101 RXA-17"; W:103:5:RXA-17:MQE0344 -> "W 103 RXA-17 MQE0344"
		parts := strings.Split(issue, ":")
		switch len(parts) {
		case 4:
			return parts[0] + " " + parts[1] + " " + parts[3]
		case 5:
			return parts[0] + " " + parts[1] + " " + parts[3] + " " + parts[4]
		}
		return issue
	},
}

func (c *Console) parseTemplates() error {
	c.tmpl = map[string]*template.Template{}
	for _, name := range []string{"live", "messages", "message", "errors", "facilities", "error", "patient", "reviews", "mounted"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("console: template %s: %w", name, err)
		}
		c.tmpl[name] = t
	}
	return nil
}
