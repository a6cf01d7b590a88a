importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);
importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);
importClass(Packages.com.tivoli.am.fim.fedmgr2.trust.util.LocalSTSClient);

// Issue a JWT for the principal through the jwt-issue chain...
var claims = new STSUniversalUser();
claims.setPrincipalName(stsuu.getPrincipalName());
claims.addAttribute(new Attribute("sub", "urn:ibm:jwt:claim", stsuu.getPrincipalName()));
claims.addAttribute(new Attribute("dept", "urn:ibm:jwt:claim", "eng"));
var issued = LocalSTSClient.doRequest("http://schemas.xmlsoap.org/ws/2005/02/trust/Issue",
	"http://appliesto/jwt", "http://issuer/stsuu", claims.toXML().getDocumentElement(), null);
if (issued.errorMessage != null) {
	IDMappingExtUtils.throwSTSException("issue: " + issued.errorMessage);
}
var jwt = IDMappingExtUtils.extractBinarySecurityToken(issued);

// ...then validate it through the jwt-validate chain.
var bst = IDMappingExtUtils.stringToXMLElement(
	'<wss:BinarySecurityToken xmlns:wss="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"' +
	' ValueType="urn:com:ibm:JWT" EncodingType="http://ibm.com/2004/01/itfim/base64encode">' + jwt + '</wss:BinarySecurityToken>');
var validated = LocalSTSClient.doRequest("http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate",
	"http://appliesto/jwt", "http://issuer/jwt", bst, null);
if (validated.errorMessage != null) {
	IDMappingExtUtils.throwSTSException("validate: " + validated.errorMessage);
}
var user = new STSUniversalUser(validated.token);
stsuu.addAttribute(new Attribute("jwt_parts", "urn:test", jwt.split(".").length));
stsuu.addAttribute(new Attribute("validated_sub", "urn:test", user.getPrincipalName()));
stsuu.addAttribute(new Attribute("validated_dept", "urn:test", user.getAttributeContainer().getAttributeValueByNameAndType("dept", "urn:com:ibm:JWT:claim")));
stsuu.addAttribute(new Attribute("validated_iss", "urn:test", user.getAttributeValueByName("iss")));

// A token from a foreign issuer fails with an error message, not an exception.
var forged = IDMappingExtUtils.stringToXMLElement(
	'<wss:BinarySecurityToken xmlns:wss="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"' +
	' ValueType="urn:com:ibm:JWT">' + jwt.substring(0, jwt.lastIndexOf(".")) + '.AAAA</wss:BinarySecurityToken>');
var bad = LocalSTSClient.doRequest("validate", "http://appliesto/jwt", "http://issuer/jwt", forged, null);
stsuu.addAttribute(new Attribute("forged", "urn:test", bad.errorMessage != null && bad.token == null));
