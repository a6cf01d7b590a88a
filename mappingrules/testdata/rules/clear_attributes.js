importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

// Keep only sub and scope, re-typed as claims of the token to issue.
var keep = ["sub", "scope"];
var saved = [];
for (var i = 0; i < keep.length; i++) {
	var a = stsuu.getAttributeContainer().getAttributeByNameAndType(keep[i], "urn:com:ibm:JWT:claim");
	if (a != null) {
		saved.push(a);
	}
}
stsuu.clearAttributeList();
for (var j = 0; j < saved.length; j++) {
	saved[j].setType("urn:ibm:jwt:claim");
	stsuu.addAttribute(saved[j]);
}
