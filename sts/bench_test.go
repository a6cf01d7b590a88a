package sts

import "testing"

// Benchmarks of the STSUU codecs on the ISAM-written sample (groups, group
// attributes, multi-valued attributes, context JSON) and the typed JSON
// sample.

func BenchmarkParseXML(b *testing.B) {
	data := readTestdata(b, "xml/isam.xml")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseXML(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteXML(b *testing.B) {
	u, err := ParseJSON(readTestdata(b, "json/typed.json"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = u.XML()
	}
}

func BenchmarkParseJSON(b *testing.B) {
	data := readTestdata(b, "json/typed.json")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteJSON(b *testing.B) {
	u, err := ParseXML(readTestdata(b, "xml/isam.xml"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = u.JSON()
	}
}

func BenchmarkDiff(b *testing.B) {
	before, err := ParseJSON(readTestdata(b, "json/typed.json"))
	if err != nil {
		b.Fatal(err)
	}
	after := before.Clone()
	after.SetPrincipalName("bob")
	after.Attributes.Add(NewAttribute("new", "", 1))
	for b.Loop() {
		_ = Diff(before, after)
	}
}
