importClass(Packages.com.tivoli.am.fim.trustserver.sts.uuser.Group);
importClass(Packages.com.tivoli.am.fim.trustserver.sts.uuser.Attribute);

stsuu.addGroup(new Group("auditors", "urn:ibm:names:ITFIM:5.1:accessmanager", null));
var attrs = [new Attribute("source", "urn:ibm:names:ITFIM:5.1:accessmanager", "rule")];
stsuu.addGroup(new Group("readers", "", attrs));
stsuu.addAttribute(new Attribute("group_count", "urn:ibm:jwt:claim", stsuu.getNumberOfGroups()));
