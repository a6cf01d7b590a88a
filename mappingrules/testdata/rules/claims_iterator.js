importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

// Turn validated claims into claims to issue, dropping internal ones. The
// iterator is a snapshot, so adding while iterating is safe.
var it = stsuu.getAttributes();
var drop = [];
while (it.hasNext()) {
	var attr = it.next();
	if (attr.getType() != "urn:com:ibm:JWT:claim") {
		continue;
	}
	if (attr.getName().startsWith("internal_")) {
		drop.push(attr);
		continue;
	}
	attr.setType("urn:ibm:jwt:claim");
}
for (var i = 0; i < drop.length; i++) {
	stsuu.getAttributeContainer().removeAttribute(drop[i]);
}
