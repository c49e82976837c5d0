package recall

import (
	"strconv"
	"strings"
	"unicode"
)

// Family is the children due who live together: one letter, one label,
// one contact.
type Family struct {
	Key      string
	Guardian string // to whom the letter goes: the guardian, or "The family of <child>"
	Address  Address
	Phone    string
	Children []*Child
	// Language is the family's letter's: Spanish when any child's record
	// gives Spanish as the primary language (PID-15), English otherwise.
	// Children of one family rarely disagree; when they do, one child
	// recorded as Spanish-speaking says the guardian reads Spanish (the
	// primary language is the family's, and a record without one, or
	// with English, is the registry's default more often than a choice),
	// and a Spanish letter lists every child as an English one would.
	Language Language
}

// IDs are the family's children's patient ids.
func (f *Family) IDs() []int64 {
	out := make([]int64, len(f.Children))
	for i, c := range f.Children {
		out[i] = c.ID
	}
	return out
}

// Contacts is the fewest contacts since the last dose among the children:
// how many times the whole family was reminded.
func (f *Family) Contacts() int {
	n := -1
	for _, c := range f.Children {
		if n < 0 || c.Contacts < n {
			n = c.Contacts
		}
	}
	return max(n, 0)
}

// Families groups children (in the order given) by guardian and address:
// children with the same guardian's name at the same street and ZIP code
// (compared without case, spaces or punctuation) are one family; a child
// with neither a guardian nor a street is a family alone. The families
// keep the order of their first child.
func Families(cs []Child) []Family {
	var out []Family
	at := map[string]int{}
	for i := range cs {
		c := &cs[i]
		k := familyKey(c)
		j, ok := at[k]
		if !ok {
			j = len(out)
			at[k] = j
			to := c.Guardian
			if to == "" {
				to = "The family of " + c.Name()
			}
			out = append(out, Family{Key: k, Guardian: to, Address: c.Address, Phone: c.Phone})
		}
		f := &out[j]
		if f.Phone == "" {
			f.Phone = c.Phone
		}
		if f.Language == "" || c.Language == Spanish {
			f.Language = cmpLang(c.Language)
		}
		f.Children = append(f.Children, c)
	}
	return out
}

func familyKey(c *Child) string {
	g, street := fold(c.Guardian), fold(c.Address.Street)
	if g == "" && street == "" {
		return "child:" + strconv.FormatInt(c.ID, 10)
	}
	if g == "" {
		g = "family:" + fold(c.Family)
	}
	zip := c.Address.Zip
	if len(zip) > 5 {
		zip = zip[:5]
	}
	return g + "|" + street + "|" + zip
}

// fold keeps the letters and digits of s, lower case.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}
