// Modern syntax, and a rule that redeclares the global stsuu.
const claimType = "urn:ibm:jwt:claim";
let out = [];
for (const g of ["a", "b"]) {
	out.push(`${g}-${out.length}`);
}
const upper = (s) => s.toUpperCase();
var stsuu = new STSUniversalUser();
stsuu.setPrincipalName(upper("bob"));
stsuu.addAttribute(new Attribute("tags", claimType, out));
class Box { constructor(v) { this.v = v; } get twice() { return this.v * 2; } }
stsuu.addAttribute(new Attribute("twice", claimType, new Box(21).twice));
// JSON.stringify uses stsuu.toJSON(): the canonical JSON form.
const asJSON = JSON.parse(JSON.stringify(stsuu));
stsuu.addAttribute(new Attribute("json_principal", claimType, asJSON.principal[0].values[0]));
stsuu.addAttribute(new Attribute("json_twice_type", claimType, typeof stsuu.toJSON().attributes[1].values[0]));
