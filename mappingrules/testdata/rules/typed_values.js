importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

// Values set from JavaScript keep their types; values the rule does not
// touch keep theirs (exp stays a number, tenant an object).
stsuu.addAttribute(new Attribute("lifetime", "urn:ibm:jwt:claim", 3600));
stsuu.addAttribute(new Attribute("ratio", "urn:ibm:jwt:claim", 0.25));
stsuu.addAttribute(new Attribute("mfa", "urn:ibm:jwt:claim", false));
stsuu.addAttribute(new Attribute("address", "urn:ibm:jwt:claim", [{ "country": "DE", "zip": 10115 }]));
var exp = stsuu.getAttributeContainer().getAttributeByName("exp");
// The ISAM view is a string...
if (exp.getValue() !== "1893456000") { throw new Error("string view: " + exp.getValue()); }
// ...and the typed view a number.
if (exp.getJSONValues()[0] !== 1893456000) { throw new Error("typed view"); }
var tenant = stsuu.getAttributeContainer().getAttributeByName("tenant");
stsuu.addAttribute(new Attribute("region", "urn:ibm:jwt:claim", tenant.getJSONValues()[0].region));
