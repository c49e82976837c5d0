// Package hl7 reads and writes HL7 version 2 messages: the syntax only
// (delimiters, segments, fields, repetitions, components, subcomponents,
// escape sequences and batch files), with no knowledge of any message
// profile.
//
// Parsing is zero-copy: a [Message] keeps the input bytes and an index of
// its segments, and every [Value] it hands out is a sub-slice of the input.
// Reusing a Message across inputs ([Message.Parse]) parses and reads fields
// without allocating. Values are located lazily, by scanning the segment for
// delimiters, so a reader pays only for the fields it reads. A reader of
// many values of a segment builds an [Index] of it instead: one pass
// records every separator, and each field, repetition, component and
// subcomponent is then found in constant time.
//
// Positions follow HL7 notation and are 1-based: field 5 of PID is PID-5, its
// second repetition PID-5(2), the first component of that PID-5(2).1, and the
// second subcomponent of that PID-5(2).1.2. In MSH (and FHS/BHS) field 1 is
// the field separator itself and field 2 the encoding characters.
//
// Values come in two forms: raw ([Value.Bytes], escape sequences kept as sent)
// and text ([Value.String], [Value.AppendText], escape sequences decoded).
// [Writer] builds messages and escapes text, so that what it writes parses
// back to the same text.
package hl7
