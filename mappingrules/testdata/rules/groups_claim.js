importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

// A groups claim derived from the group list, in list order.
var groups = [];
var it = stsuu.getGroups();
while (it.hasNext()) {
	var g = it.next();
	groups.push("grp:" + g.getName());
}
stsuu.addAttribute(new Attribute("groups", "urn:ibm:jwt:claim", groups));
stsuu.addAttribute(new Attribute("is_admin", "urn:ibm:jwt:claim", groups.indexOf("grp:admins") >= 0));
