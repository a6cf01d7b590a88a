importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);
importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);
importClass(Packages.com.tivoli.am.fim.fedmgr2.trust.util.LocalSTSClient);

var bst = IDMappingExtUtils.stringToXMLElement('<wss:BinarySecurityToken xmlns:wss="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ValueType="urn:com:ibm:JWT" EncodingType="http://ibm.com/2004/01/itfim/base64encode">aaa.bbb.ccc</wss:BinarySecurityToken>');
var claims = IDMappingExtUtils.stringToXMLElement('<wst:Claims xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><signing.jwksUri>https://idp.example/jwks</signing.jwksUri></wst:Claims>');
var res = LocalSTSClient.doRequest("http://schemas.xmlsoap.org/ws/2005/02/trust/Validate", "urn:com:ibm:JWT", bst, claims);
if (res.errorMessage != null) {
	IDMappingExtUtils.throwSTSException("validate failed: " + res.errorMessage);
}
var validated = new STSUniversalUser(res.token);
stsuu.addContextAttribute(new Attribute("validated_sub", "urn:test:local", validated.getPrincipalName()));
var bad = LocalSTSClient.doRequest("validate", "urn:unknown", bst, null);
stsuu.addContextAttribute(new Attribute("unknown_chain", "urn:test:local", bad.errorMessage));
