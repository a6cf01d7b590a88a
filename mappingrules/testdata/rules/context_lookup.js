importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);
importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);

var temp = stsuu.getContextAttributes().getAttributeValuesByNameAndType("grant_type", "urn:ibm:names:ITFIM:oauth:body:param");
var grantType = null;
if (temp != null && temp.length > 0) {
	grantType = temp[0];
}
var clientId = stsuu.getContextAttributesAttributeContainer().getAttributeValueByNameAndType("client_id", "urn:ibm:names:ITFIM:oauth:body:param");
var missing = stsuu.getContextAttributes().getAttributeValuesByNameAndType("actor_token", "urn:ibm:names:ITFIM:oauth:body:param");

if (grantType == "urn:ietf:params:oauth:grant-type:token-exchange" && missing == null) {
	stsuu.addAttribute(new Attribute("azp", "urn:ibm:jwt:claim", clientId));
	stsuu.addContextAttribute(new Attribute("username", "urn:ibm:names:ITFIM:oauth:rule:decision", stsuu.getPrincipalName()));
}
