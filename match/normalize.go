package match

import (
	"strings"
	"unicode/utf8"
)

// foldRune maps a rune to upper-case ASCII: Latin letters with diacritics
// lose them, a few ligatures expand, and anything else that is not a letter
// or digit becomes a separator (returned as ' ') or is dropped (0).
func foldRune(r rune) (string, bool) {
	switch {
	case r >= 'a' && r <= 'z':
		return string(rune(r - 32)), true
	case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return string(r), true
	case r == '\'' || r == '’' || r == '`' || r == '.':
		// O'Connell, St. — glued, not split.
		return "", true
	case r < utf8.RuneSelf:
		return " ", true
	}
	if s, ok := diacritics[r]; ok {
		return s, true
	}
	return " ", true
}

// diacritics folds the Latin-1 and Latin Extended-A letters that occur in
// names to their ASCII base letters.
var diacritics = func() map[rune]string {
	m := map[rune]string{'ß': "SS", 'Æ': "AE", 'æ': "AE", 'Œ': "OE", 'œ': "OE", 'Ø': "O", 'ø': "O", 'Ð': "D", 'ð': "D", 'Þ': "TH", 'þ': "TH", 'Ł': "L", 'ł': "L", 'Đ': "D", 'đ': "D"}
	groups := map[string]string{
		"A": "ÀÁÂÃÄÅàáâãäåĀāĂăĄą",
		"C": "ÇçĆćĈĉĊċČč",
		"D": "Ďď",
		"E": "ÈÉÊËèéêëĒēĔĕĖėĘęĚě",
		"G": "ĜĝĞğĠġĢģ",
		"H": "Ĥĥ",
		"I": "ÌÍÎÏìíîïĨĩĪīĬĭĮįİı",
		"J": "Ĵĵ",
		"K": "Ķķ",
		"L": "ĹĺĻļĽľ",
		"N": "ÑñŃńŅņŇň",
		"O": "ÒÓÔÕÖòóôõöŌōŎŏŐő",
		"R": "ŔŕŖŗŘř",
		"S": "ŚśŜŝŞşŠš",
		"T": "ŢţŤť",
		"U": "ÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲų",
		"W": "Ŵŵ",
		"Y": "ÝýÿŶŷŸ",
		"Z": "ŹźŻżŽž",
	}
	for base, letters := range groups {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// fold returns s in upper-case ASCII with diacritics removed, apostrophes and
// periods dropped, every other non-alphanumeric run turned into one space,
// and no leading or trailing space.
func fold(s string) string {
	// Most names reach here already folded (registry records, upper-case
	// senders) or in plain ASCII: both are done without the rune loop.
	folded := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			return foldRunes(s)
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == ' ' && i > 0 && i < len(s)-1 && s[i-1] != ' ':
		default:
			folded = false
		}
	}
	if folded {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := true // suppress leading separators
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - ('a' - 'A'))
			space = false
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
			space = false
		case c == '\'' || c == '`' || c == '.':
		case !space:
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSuffix(b.String(), " ")
}

// foldRunes is fold for text outside ASCII.
func foldRunes(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // suppress leading separators
	for _, r := range s {
		out, _ := foldRune(r)
		if out == "" {
			continue
		}
		if out == " " {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteString(out)
		space = false
	}
	return strings.TrimRight(b.String(), " ")
}

// lettersOnly removes everything but A–Z from a folded string.
func lettersOnly(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// digitsOnly keeps the ASCII digits of s.
func digitsOnly(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// nameSuffixes are generational suffixes that reporting systems often append
// to the last name ("SMITH JR", "COFFIN, III").
var nameSuffixes = map[string]string{
	"JR": "JR", "JNR": "JR", "JUNIOR": "JR",
	"SR": "SR", "SNR": "SR", "SENIOR": "SR",
	"II": "II", "2ND": "II", "III": "III", "3RD": "III", "IV": "IV", "4TH": "IV", "V": "V", "5TH": "V",
}

// placeholderNames are values reporting systems put where a name is not yet
// known; they carry no identifying information.
var placeholderNames = map[string]bool{
	"BABY": true, "BABYBOY": true, "BABYGIRL": true, "BOY": true, "GIRL": true, "INFANT": true,
	"NEWBORN": true, "UNKNOWN": true, "UNK": true, "NONE": true, "NFN": true, "FNU": true, "LNU": true,
	"NA": true, "TWIN": true, "TWINA": true, "TWINB": true, "MALE": true, "FEMALE": true,
}

// nameTokens folds a name and splits it into tokens, moving generational
// suffixes out (returned separately) and dropping placeholders.
func nameTokens(s string) (tokens []string, suffix string) {
	f := fold(s)
	if f == "" {
		return nil, ""
	}
	var one [1]string
	parts := append(one[:0], f) // most names are one token
	if strings.IndexByte(f, ' ') >= 0 {
		parts = strings.Fields(f)
	}
	for i, p := range parts {
		if sfx, ok := nameSuffixes[p]; ok && (i > 0 || len(parts) == 1) {
			if len(parts) > 1 || p != "V" {
				suffix = sfx
				continue
			}
		}
		p = lettersOnly(p)
		if p == "" || placeholderNames[p] {
			continue
		}
		tokens = append(tokens, p)
	}
	if len(tokens) == 2 && placeholderNames[tokens[0]+tokens[1]] {
		tokens = nil
	}
	return tokens, suffix
}

// normSuffix normalises a name suffix field.
func normSuffix(s string) string {
	f := lettersOrDigits(fold(s))
	if sfx, ok := nameSuffixes[f]; ok {
		return sfx
	}
	return f
}

func lettersOrDigits(s string) string {
	return strings.ReplaceAll(s, " ", "")
}

// streetWords maps street-address words to the USPS standard abbreviations,
// so that "123 North Main Street" and "123 N Main St" normalise alike.
var streetWords = map[string]string{
	"STREET": "ST", "STR": "ST", "AVENUE": "AVE", "AV": "AVE", "AVN": "AVE", "ROAD": "RD", "DRIVE": "DR", "DRV": "DR",
	"LANE": "LN", "COURT": "CT", "CIRCLE": "CIR", "CIRC": "CIR", "PLACE": "PL", "BOULEVARD": "BLVD", "BOUL": "BLVD",
	"PARKWAY": "PKWY", "PKY": "PKWY", "HIGHWAY": "HWY", "TERRACE": "TER", "TERR": "TER", "TRAIL": "TRL",
	"SQUARE": "SQ", "WAY": "WAY", "ALLEY": "ALY", "CRESCENT": "CRES", "EXPRESSWAY": "EXPY", "FREEWAY": "FWY",
	"HEIGHTS": "HTS", "POINT": "PT", "RIDGE": "RDG", "ROUTE": "RTE", "CROSSING": "XING", "VIEW": "VW",
	"NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE", "NORTHWEST": "NW",
	"SOUTHEAST": "SE", "SOUTHWEST": "SW", "APARTMENT": "APT", "SUITE": "STE", "UNIT": "UNIT", "NUMBER": "NO",
	"FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH", "MOUNT": "MT", "SAINT": "ST",
	"FORT": "FT",
}

// normStreet folds a street line and abbreviates its words; it returns the
// house number (leading numeric token, if any) and the rest.
func normStreet(s string) (number, street string) {
	f := fold(s)
	if f == "" {
		return "", ""
	}
	words := strings.Fields(f)
	for i, w := range words {
		if a, ok := streetWords[w]; ok {
			words[i] = a
		}
	}
	if len(words) > 0 && words[0][0] >= '0' && words[0][0] <= '9' {
		number = words[0]
		words = words[1:]
	}
	return number, strings.Join(words, " ")
}

// normCity folds a city name and expands nothing: cities are compared with
// an edit-distance tolerance instead.
func normCity(s string) string {
	words := strings.Fields(fold(s))
	for i, w := range words {
		if a, ok := streetWords[w]; ok && (w == "SAINT" || w == "MOUNT" || w == "FORT") {
			words[i] = a
		}
	}
	return strings.Join(words, " ")
}

// usStates maps state names to their two-letter postal codes.
var usStates = map[string]string{
	"ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
	"CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA",
	"HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
	"KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA",
	"MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
	"NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM",
	"NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK",
	"OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
	"TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
	"WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR", "GUAM": "GU",
}

func normState(s string) string {
	f := fold(s)
	if code, ok := usStates[f]; ok {
		return code
	}
	return f
}

// normZip returns the five-digit ZIP code of s, or "" when s has fewer than
// five digits.
func normZip(s string) string {
	d := digitsOnly(s)
	if len(d) < 5 {
		return ""
	}
	return d[:5]
}

// normPhone returns the ten-digit North American number of s (a leading
// country code 1 dropped), or its seven local digits when no area code was
// given, or "" when it is not a usable number.
func normPhone(s string) string {
	d := digitsOnly(s)
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	switch len(d) {
	case 10, 7:
	default:
		return ""
	}
	// All-same digits (0000000000, 9999999999) are placeholders.
	same := true
	for i := 1; i < len(d); i++ {
		if d[i] != d[0] {
			same = false
			break
		}
	}
	if same {
		return ""
	}
	return d
}

// normIdentifier keeps letters and digits of an identifier value.
func normIdentifier(s string) string {
	f := fold(s)
	return strings.ReplaceAll(f, " ", "")
}
