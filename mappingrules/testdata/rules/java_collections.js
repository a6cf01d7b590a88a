importClass(Packages.java.util.ArrayList);
importClass(Packages.java.util.HashMap);
importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

var roles = new HashMap();
roles.put("admins", "administrator");
roles.put("staff", "employee");
var out = new ArrayList();
var it = stsuu.getGroups();
while (it.hasNext()) {
	var role = roles.get(it.next().getName());
	if (role != null && !out.contains(role)) {
		out.add(role);
	}
}
var keys = roles.keySet().iterator();
var seen = [];
while (keys.hasNext()) { seen.push(keys.next()); }
stsuu.addAttribute(new Attribute("roles", "urn:ibm:jwt:claim", out));
stsuu.addAttribute(new Attribute("role_keys", "urn:ibm:jwt:claim", seen.join(",")));

var dept = stsuu.getAttributeValueByName("department");
var jdept = new java.lang.String(dept);
if (jdept.equalsIgnoreCase("ENGINEERING") && dept.length() == 11 && jdept.length() == 11 && jdept == "Engineering") {
	stsuu.addAttribute(new Attribute("dept_code", "urn:ibm:jwt:claim", "ENG"));
}
var arr = java.lang.reflect.Array.newInstance(java.lang.String, 2);
arr[0] = "x";
stsuu.addAttribute(new Attribute("array_len", "urn:ibm:jwt:claim", arr.length));
