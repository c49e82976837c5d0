package soap

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
)

// The CDC IIS WSDLs and schemas, copied byte for byte from the project's
// testdata/soap (see wsdl/SOURCES.md for their origin).
//
//go:embed wsdl/cdc-iis-2011.wsdl wsdl/cdc-iis-2011.xsd wsdl/cdc-iis.wsdl wsdl/cdc-iis.xsd
var wsdlFiles embed.FS

// Schema file names as served at ?xsd=<name>.
const (
	xsd2011 = "cdc-iis-2011.xsd"
	xsd2014 = "cdc-iis.xsd"
)

var (
	reAddress        = regexp.MustCompile(`(<soap12:address\s+location=")[^"]*(")`)
	reSchemaLocation = regexp.MustCompile(`(schemaLocation=")[^"]*\?xsd=/?([^"]+)(")`)
)

// baseMarker stands for the service URL in a WSDL template.
const baseMarker = "\x00BASE\x00"

// metadata holds the WSDL templates (service address and schema location
// replaced by baseMarker) and the schemas.
type metadata struct {
	wsdl map[Revision][]byte
	xsd  map[string][]byte
}

func loadMetadata() (*metadata, error) {
	m := &metadata{wsdl: map[Revision][]byte{}, xsd: map[string][]byte{}}
	for rev, name := range map[Revision]string{Rev2011: "cdc-iis-2011.wsdl", Rev2014: "cdc-iis.wsdl"} {
		b, err := wsdlFiles.ReadFile("wsdl/" + name)
		if err != nil {
			return nil, fmt.Errorf("soap: reading embedded %s: %w", name, err)
		}
		if len(reAddress.FindAllIndex(b, -1)) != 1 || len(reSchemaLocation.FindAllIndex(b, -1)) != 1 {
			return nil, fmt.Errorf("soap: embedded %s: service address or schema import not found", name)
		}
		b = reAddress.ReplaceAll(b, []byte("${1}"+baseMarker+"${2}"))
		b = reSchemaLocation.ReplaceAll(b, []byte("${1}"+baseMarker+"?xsd=${2}${3}"))
		m.wsdl[rev] = b
	}
	for _, name := range []string{xsd2011, xsd2014} {
		b, err := wsdlFiles.ReadFile("wsdl/" + name)
		if err != nil {
			return nil, fmt.Errorf("soap: reading embedded %s: %w", name, err)
		}
		m.xsd[name] = b
	}
	return m, nil
}

// wsdlFor returns the revision's WSDL with the service address (and schema
// import) pointing at base.
func (m *metadata) wsdlFor(rev Revision, base string) []byte {
	return bytes.ReplaceAll(m.wsdl[rev], []byte(baseMarker), appendEscaped(nil, base))
}
