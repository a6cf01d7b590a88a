package sts

import (
	"fmt"
	"strings"
	"testing"
)

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

// largeDocuments builds XML and JSON documents just under the 1 MiB limit
// holding tens of thousands of small attributes, every tenth one repeating
// an earlier identity; parsing them must stay linear.
func largeDocuments() (xmlDoc, jsonDoc []byte) {
	var x, j strings.Builder
	x.WriteString(`<a:STSUniversalUser xmlns:a="urn:ibm:names:ITFIM:1.0:stsuuser"><a:AttributeList>`)
	j.WriteString(`{"attributes":[`)
	for i := 0; x.Len() < 1<<20-100; i++ {
		n := i
		if i%10 == 9 {
			n = i / 2
		}
		fmt.Fprintf(&x, `<a:Attribute name="%d"><a:Value>v</a:Value></a:Attribute>`, n)
	}
	for i := 0; j.Len() < 1<<20-100; i++ {
		n := i
		if i%10 == 9 {
			n = i / 2
		}
		if i > 0 {
			j.WriteByte(',')
		}
		fmt.Fprintf(&j, `{"name":"%d","values":["v"]}`, n)
	}
	x.WriteString(`</a:AttributeList></a:STSUniversalUser>`)
	j.WriteString(`]}`)
	return []byte(x.String()), []byte(j.String())
}

func BenchmarkParseLarge(b *testing.B) {
	x, j := largeDocuments()
	b.Run("xml", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseXML(x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseJSON(j); err != nil {
				b.Fatal(err)
			}
		}
	})
}
