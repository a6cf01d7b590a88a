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
