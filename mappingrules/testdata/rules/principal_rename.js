importPackage(Packages.com.tivoli.am.fim.trustserver.sts);
importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);
importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);

// Lower-case the principal and qualify it with the realm, keeping the old
// name as a principal attribute.
var original = stsuu.getPrincipalName();
IDMappingExtUtils.traceString("principal in: " + original);
stsuu.setPrincipalName(original.toLowerCase() + "@example.com");
stsuu.addPrincipalAttribute(new Attribute("original_name", "urn:ibm:names:ITFIM:5.1:accessmanager", original));
if (stsuu.getPrincipalAttributeValueByName("missing") != null) {
	IDMappingExtUtils.throwSTSException("absent principal attribute must be null");
}
