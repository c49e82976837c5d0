// Package cdsidata embeds the CDC CDSi supporting data release that the
// forecast engine uses by default. See SOURCE.md for provenance.
package cdsidata

import "embed"

// FS holds the CDC supporting-data XML files (AntigenSupportingData-*.xml,
// ScheduleSupportingData.xml), the two CDC XSDs and VERSION.txt, exactly as
// CDC distributes them.
//
//go:embed *.xml *.xsd VERSION.txt
var FS embed.FS
