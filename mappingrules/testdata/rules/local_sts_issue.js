importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);
importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);
importClass(Packages.com.tivoli.am.fim.fedmgr2.trust.util.LocalSTSClient);

var req = new STSUniversalUser();
req.addAttribute(new Attribute("sub", "urn:ibm:jwt:claim", stsuu.getPrincipalName()));
var base = req.toXML().getDocumentElement();
var res = LocalSTSClient.doRequest("http://schemas.xmlsoap.org/ws/2005/02/trust/Issue", "http://appliesto/jwt", "http://issuer/stsuu", base, null);
if (res.errorMessage != null) {
	IDMappingExtUtils.throwSTSException("issue failed: " + res.errorMessage);
}
var jwt = IDMappingExtUtils.extractBinarySecurityToken(res.token);
stsuu.addContextAttribute(new Attribute("issued", "urn:test:local", [jwt, res.token.getTextContent()]));
