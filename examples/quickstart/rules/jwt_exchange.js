// JWT -> JWT exchange (chain jwt-exchange): shape the validated token's
// claims into the claims of the internal access token, the way an ISAM
// mapping rule would.
importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);
importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);

var IN = "urn:com:ibm:JWT:claim";    // claims of the token that was validated
var OUT = "urn:ibm:jwt:claim";       // claims of the token to issue
var claims = stsuu.getAttributeContainer();

// 1. Rename: claims keep their JSON types because the attribute itself is
//    moved (setName/setType), not copied through strings. A token that
//    already says "email" (the quickstart's urn:jwt:issue chain writes it)
//    keeps it.
var renames = { mail: "email", email: "email", employee_number: "employee_id" };
for (var from in renames) {
	var attr = claims.getAttributeByNameAndType(from, IN);
	if (attr != null) {
		attr.setName(renames[from]);
		attr.setType(OUT);
	}
}
var roles = claims.getAttributeByNameAndType("roles", IN);
if (roles != null) {
	roles.setType(OUT);
}

// 2. Groups: every role is a group of the user, and the groups decide the
//    API permissions the new token carries.
var roleNames = roles != null ? roles.getValues() : [];
for (var i = 0; i < roleNames.length; i++) {
	stsuu.addGroup(new Group(roleNames[i], "urn:ibm:names:ITFIM:5.1:accessmanager", null));
}
var permissionsByGroup = { reader: ["api:read"], writer: ["api:read", "api:write"], admins: ["api:admin"] };
var permissions = [];
for (var it = stsuu.getGroups(); it.hasNext();) {
	var granted = permissionsByGroup[it.next().getName()] || [];
	granted.forEach(function (p) {
		if (permissions.indexOf(p) < 0) {
			permissions.push(p);
		}
	});
}
stsuu.addAttribute(new Attribute("permissions", OUT, permissions));
stsuu.addAttribute(new Attribute("tenant", OUT, "quickstart"));

// 3. Drop what must not leave: ISAM credential internals (AZN_*), every
//    validated claim not mapped above (iss, exp, aud... are set by the
//    issue step), and the input token's claim_json, which the issue step
//    would otherwise read.
var drop = [];
for (var all = stsuu.getAttributes(); all.hasNext();) {
	var a = all.next();
	if (a.getType() == IN || a.getName().startsWith("AZN_")) {
		drop.push(a);
	}
}
drop.forEach(function (a) { claims.removeAttribute(a); });
stsuu.getContextAttributes().removeAttributes("claim_json", null);

IDMappingExtUtils.traceString("jwt_exchange: " + stsuu.getPrincipalName() + " permissions " + permissions.join(" "));
