importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);
importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.OAuthMappingExtUtils);
importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

var out = [];
out.push(OAuthMappingExtUtils.SHA256Sum("abc"));
out.push(String(OAuthMappingExtUtils.generateRandomString(24).matches("[A-Za-z0-9]{24}")));
out.push(String(OAuthMappingExtUtils.createUUID().matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
// {"alg":"none"}.{"iss":"https://idp.example","sub":"x"}.
var jwt = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwic3ViIjoieCJ9.";
out.push(OAuthMappingExtUtils.extractIssuer(jwt, "urn:ietf:params:oauth:token-type:jwt"));
var el = OAuthMappingExtUtils.createTokenElement(jwt, "urn:ietf:params:oauth:token-type:jwt");
out.push(el.getLocalName() + " " + el.getAttribute("ValueType") + " " + String(IDMappingExtUtils.extractBinarySecurityToken(el) == jwt));
out.push(String(IDMappingExtUtils.extractBinarySecurityToken(null)));
out.push(IDMappingExtUtils.subStringAfterLast("a/b/c", "/") + " " + IDMappingExtUtils.subStringBeforeLast("a/b/c", "/") + " " + IDMappingExtUtils.subStringAfterLast("abc", "/"));
out.push(IDMappingExtUtils.getTimeStringUTC(2030, 1, 2, 3, 4, 5));
out.push(IDMappingExtUtils.escapeHtml("<a href='x'>&</a>"));
out.push(String(IDMappingExtUtils.getCurrentTimeStringUTC().matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z")));
out.push(String(java.lang.Integer.parseInt("42") + 1));
out.push(String(java.lang.Boolean.parseBoolean("TRUE")));
try {
	java.lang.Integer.parseInt("4x2");
	out.push("parsed");
} catch (e) {
	out.push("NumberFormatException");
}
stsuu.addContextAttribute(new Attribute("helpers", "urn:test:helpers", out));
