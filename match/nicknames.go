package match

import (
	_ "embed"
	"slices"
	"strings"
)

//go:embed nicknames.txt
var nicknameData string

// nicknameGroups maps a given name to the ids of the equivalence groups it
// belongs to (see nicknames.txt). It is built once and only read afterwards.
var nicknameGroups = func() map[string][]uint16 {
	m := make(map[string][]uint16)
	id := uint16(0)
	for _, line := range strings.Split(nicknameData, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id++
		for _, name := range strings.Fields(line) {
			if !slices.Contains(m[name], id) {
				m[name] = append(m[name], id)
			}
		}
	}
	return m
}()

// appendGroups appends the nickname groups of name to gs, without
// duplicates.
func appendGroups(gs []uint16, name string) []uint16 {
	for _, g := range nicknameGroups[name] {
		if !slices.Contains(gs, g) {
			gs = append(gs, g)
		}
	}
	return gs
}

// shareGroup reports whether two group lists intersect.
func shareGroup(a, b []uint16) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// Nicknames reports whether two given names are equivalent through the
// built-in nickname table (Bill and William, Liz and Elizabeth). Case and
// punctuation are ignored.
func Nicknames(a, b string) bool {
	ta, _ := nameTokens(a)
	tb, _ := nameTokens(b)
	if len(ta) == 0 || len(tb) == 0 {
		return false
	}
	return shareGroup(appendGroups(nil, strings.Join(ta, "")), appendGroups(nil, strings.Join(tb, "")))
}
